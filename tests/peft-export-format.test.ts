/**
 * User story: "we serve thousands of users on a GPU cluster with vLLM or LoRAX, and they take our adapters as they
 * are". An adapter trained through the service and exported (`service.exportAdapter`, the archive a user or an
 * operator takes away) must be exactly HF PEFT's on-disk format: `adapter_config.json` with the fields and types
 * PEFT's `LoraConfig` reads, and `adapter_model.safetensors` with PEFT's tensor names, shapes [r, in] / [out, r] and
 * dtype. The safetensors file is parsed here by hand from its specification (8-byte little-endian header length,
 * JSON header, raw little-endian data), not with our own reader.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userId } from '@oppu/core';
import { createLocalOppu, type LocalOppu, TEST_CONFIG, writeTestCheckpoint } from '@oppu/node';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Every field of PEFT's `LoraConfig` (and its `PeftConfig` base) up to PEFT 0.17; anything else makes older PEFT
 * releases fail in `LoraConfig(**json)`. */
const PEFT_LORA_FIELDS = new Set([
  'peft_type',
  'auto_mapping',
  'base_model_name_or_path',
  'revision',
  'task_type',
  'inference_mode',
  'r',
  'target_modules',
  'exclude_modules',
  'lora_alpha',
  'lora_dropout',
  'fan_in_fan_out',
  'bias',
  'use_rslora',
  'modules_to_save',
  'init_lora_weights',
  'layers_to_transform',
  'layers_pattern',
  'rank_pattern',
  'alpha_pattern',
  'megatron_config',
  'megatron_core',
  'trainable_token_indices',
  'loftq_config',
  'eva_config',
  'corda_config',
  'use_dora',
  'layer_replication',
  'runtime_config',
  'lora_bias',
  'target_parameters',
]);

let root: string;
let oppu: LocalOppu;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-peft-export-'));
  await writeTestCheckpoint(join(root, 'model'));
  oppu = await createLocalOppu({
    home: join(root, 'home'),
    baseModelDir: join(root, 'model'),
    training: { maxSteps: 4, learningRate: 1e-2, batchSize: 2, seed: 2 },
    summarizer: 'none',
    onLog: () => {},
  });
});
afterAll(async () => {
  await oppu?.close();
  await rm(root, { recursive: true, force: true });
});

/** safetensors, by its specification. */
function parseSafetensors(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(strFromU8(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  return { header, dataStart: 8 + n, dataBytes: bytes.byteLength - 8 - n };
}

describe('exported adapters are HF PEFT LoRA adapters', () => {
  it('has the config fields, tensor names, shapes and dtypes PEFT, vLLM and LoRAX read', async () => {
    const ada = userId('ada');
    await oppu.service.addItems(ada, [
      { id: '1', text: 'sunset again tonight, the sky is on fire' },
      { id: '2', text: 'coffee first, then the world' },
    ]);
    await oppu.service.train(ada);
    await oppu.service.train(ada); // two versions: each exported in its own folder
    const files = unzipSync(await oppu.service.exportAdapter(ada));
    expect(Object.keys(files).sort()).toEqual([
      'oppu-adapter.json',
      'v0001/adapter_config.json',
      'v0001/adapter_model.safetensors',
      'v0001/oppu_meta.json',
      'v0002/adapter_config.json',
      'v0002/adapter_model.safetensors',
      'v0002/oppu_meta.json',
    ]);
    const info = oppu.engine.model.info;
    const { dim, heads, kvHeads, layers } = TEST_CONFIG;
    const headDim = dim / heads;
    for (const v of ['v0001', 'v0002']) {
      const config = JSON.parse(strFromU8(files[`${v}/adapter_config.json`]!)) as Record<string, unknown>;
      for (const key of Object.keys(config))
        expect(PEFT_LORA_FIELDS.has(key), `unknown field ${key}`).toBe(true);
      expect(config).toMatchObject({
        peft_type: 'LORA',
        task_type: 'CAUSAL_LM',
        base_model_name_or_path: info.name,
        r: 8,
        lora_alpha: 8,
        target_modules: ['q_proj', 'v_proj'],
        bias: 'none',
        fan_in_fan_out: false,
        modules_to_save: null,
        inference_mode: true,
        use_dora: false,
        use_rslora: false,
        layers_to_transform: null,
        rank_pattern: {},
        alpha_pattern: {},
      });
      expect(Number.isInteger(config.r)).toBe(true);
      expect(typeof config.lora_dropout).toBe('number');
      expect(config.lora_dropout as number).toBeGreaterThanOrEqual(0);
      expect(config.init_lora_weights).toBe(true);

      // The base it was trained on: name in the config, name and content hash in oppu_meta.json.
      const meta = JSON.parse(strFromU8(files[`${v}/oppu_meta.json`]!));
      expect(meta.baseModel).toEqual({ name: info.name, hash: info.hash });

      const bytes = files[`${v}/adapter_model.safetensors`]!;
      const { header, dataBytes } = parseSafetensors(bytes);
      const { __metadata__: metadata, ...tensors } = header as Record<string, never>;
      if (metadata !== undefined) {
        for (const value of Object.values(metadata as Record<string, unknown>))
          expect(typeof value).toBe('string');
      }
      const expected = new Map<string, number[]>();
      for (let i = 0; i < layers; i++) {
        const p = `base_model.model.model.layers.${i}.self_attn`;
        expected.set(`${p}.q_proj.lora_A.weight`, [8, dim]); // [r, in]
        expected.set(`${p}.q_proj.lora_B.weight`, [heads * headDim, 8]); // [out, r]
        expected.set(`${p}.v_proj.lora_A.weight`, [8, dim]);
        expected.set(`${p}.v_proj.lora_B.weight`, [kvHeads * headDim, 8]);
      }
      expect(Object.keys(tensors).sort()).toEqual([...expected.keys()].sort());
      // Offsets tile the data section exactly, each tensor F32 with 4 bytes per element.
      const spans: [number, number][] = [];
      for (const [name, shape] of expected) {
        const t = tensors[name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
        expect(t.dtype, name).toBe('F32');
        expect(t.shape, name).toEqual(shape);
        expect(t.data_offsets[1] - t.data_offsets[0], name).toBe(shape[0]! * shape[1]! * 4);
        spans.push(t.data_offsets);
      }
      spans.sort((a, b) => a[0] - b[0]);
      expect(spans[0]![0]).toBe(0);
      for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBe(spans[i - 1]![1]);
      expect(spans[spans.length - 1]![1]).toBe(dataBytes);
    }
  });
});
