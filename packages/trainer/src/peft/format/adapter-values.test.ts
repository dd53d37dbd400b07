import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HostTensor, OPPU_LORA, OppuError } from '@oppu/core';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../safetensors/write.js';
import {
  loraConfigFromPeft,
  loraConfigToPeft,
  MAX_LORA_SCALING,
  validateLoraConfig,
} from '../lora/config.js';
import { MAX_VIRTUAL_TOKENS, validatePromptTuningConfig } from '../prompt-tuning/config.js';
import { assertFiniteTensors, decodeAdapter, loadAdapter } from './adapter-files.js';

const A = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';
const tensor = (values: number[], dtype: HostTensor['dtype'] = 'float32'): Map<string, HostTensor> =>
  new Map([[A, { dtype, shape: [values.length], data: Float32Array.from(values) }]]);
const config = JSON.stringify(loraConfigToPeft(OPPU_LORA));

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function messageOf(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(OppuError);
    return (error as OppuError).message;
  }
  throw new Error('expected an OppuError');
}

describe('adapter values a loader refuses', () => {
  it('NaN and infinities, from the file as written or from float16 overflow', async () => {
    for (const [values, dtype, shown] of [
      [[0, 1, Number.NaN], 'float32', 'NaN at element 2'],
      [[Number.NEGATIVE_INFINITY], 'float32', '-Infinity at element 0'],
      [[1, 70_000], 'float16', 'Infinity at element 1'], // past float16's 65,504
    ] as const) {
      const bytes = writeSafetensors(tensor([...values], dtype));
      expect(messageOf(() => decodeAdapter(config, bytes, 'upload'))).toBe(
        `upload/adapter_model.safetensors: tensor "${A}" holds ${shown}; the adapter diverged or the file is damaged (retrain it)`,
      );
    }
    const dir = await mkdtemp(join(tmpdir(), 'oppu-finite-'));
    dirs.push(dir);
    await writeFile(join(dir, 'adapter_config.json'), config);
    await writeFile(join(dir, 'adapter_model.safetensors'), writeSafetensors(tensor([Number.NaN])));
    await expect(loadAdapter(dir)).rejects.toThrow(/holds NaN at element 0/);
    expect(() => assertFiniteTensors(tensor([0, -1, 3.4e38]), 'x')).not.toThrow();
  });

  it('a LoRA scaling past MAX_LORA_SCALING (lora_alpha 1e30), and more virtual tokens than MAX_VIRTUAL_TOKENS', () => {
    expect(
      messageOf(() => loraConfigFromPeft({ ...loraConfigToPeft(OPPU_LORA), lora_alpha: 1e30 }, 'cfg')),
    ).toBe('cfg: alpha 1e+30 with r 8 scales the update by 1.25e+29; at most 1024 is accepted');
    // rsLoRA divides by sqrt(r): alpha 4096 at r 16 is 1024, just accepted; at r 4 it is 2048.
    expect(validateLoraConfig({ ...OPPU_LORA, r: 16, alpha: 4096, rslora: true }).alpha).toBe(4096);
    expect(messageOf(() => validateLoraConfig({ ...OPPU_LORA, r: 4, alpha: 4096, rslora: true }))).toMatch(
      /scales the update by 2048; at most 1024/,
    );
    expect(validateLoraConfig({ ...OPPU_LORA, r: 1, alpha: MAX_LORA_SCALING }).alpha).toBe(1024);
    expect(
      messageOf(() =>
        validatePromptTuningConfig({ method: 'prompt', numVirtualTokens: MAX_VIRTUAL_TOKENS + 1 }),
      ),
    ).toBe('prompt tuning config: numVirtualTokens must be an integer from 1 to 4096, got 4097');
  });
});
