import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdapterWeights, HostTensor } from '@oppu/core';
import { TEST_CONFIG, writeTestCheckpoint } from '@oppu/node';
import {
  encodeLoraGguf,
  loraConfigToPeft,
  peftModulePath,
  projectionShape,
  saveAdapter,
} from '@oppu/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';

async function oppu(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  };
  const code = await main(args, io as never);
  return { code, stdout, stderr };
}

/** A LoRA (r 2) on q_proj and v_proj of the test checkpoint, with non-zero A and B. */
function aliceLora(): AdapterWeights {
  const tensors = new Map<string, HostTensor>();
  for (let l = 0; l < TEST_CONFIG.layers; l++) {
    for (const m of ['q_proj', 'v_proj'] as const) {
      const [inF, outF] = projectionShape(TEST_CONFIG, m);
      const p = peftModulePath(l, m);
      const data = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.cos(i + l));
      tensors.set(`${p}.lora_A.weight`, { dtype: 'float32', shape: [2, inF], data: data(2 * inF) });
      tensors.set(`${p}.lora_B.weight`, { dtype: 'float32', shape: [outF, 2], data: data(outF * 2) });
    }
  }
  const config = loraConfigToPeft({
    method: 'lora',
    r: 2,
    alpha: 4,
    dropout: 0,
    targetModules: ['q_proj', 'v_proj'],
  });
  return { config, tensors };
}

let dir: string;
let modelDir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oppu-export-gguf-'));
  modelDir = join(dir, 'model');
  await writeTestCheckpoint(modelDir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('oppu export-gguf', () => {
  it('writes the embedded base model as a GGUF file (38 tensors) and says how to serve it', async () => {
    const out = join(dir, 'base.gguf');
    const run = await oppu('export-gguf', '--out', out);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      file: out,
      kind: 'model',
      name: 'oppu/tiny-llama',
      tensors: 38,
      bytes: (await readFile(out)).length,
    });
    expect(run.stderr).toContain(`llama-cli -m ${out}`);
    const bytes = await readFile(out);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('GGUF');
    expect(bytes.readUInt32LE(4)).toBe(3);
    expect(Number(bytes.readBigUInt64LE(8))).toBe(38);
  });

  it("--adapter writes only the user's LoRA, the bytes the trainer encodes for that base", async () => {
    const adapter = aliceLora();
    await saveAdapter(join(dir, 'alice'), adapter);
    const out = join(dir, 'alice.gguf');
    const run = await oppu('export-gguf', '--base', modelDir, '--adapter', join(dir, 'alice'), '--out', out);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ file: out, kind: 'adapter', name: 'alice', tensors: 8 });
    expect(run.stderr).toContain(`--lora ${out}`);
    expect(new Uint8Array(await readFile(out))).toEqual(encodeLoraGguf(adapter, TEST_CONFIG, 'alice'));
  });

  it('fails in one line naming what is wrong', async () => {
    expect((await oppu('export-gguf')).stderr).toMatch(/missing --out/);
    // The test checkpoint's tokenizer is SentencePiece-style (Metaspace), which this export does not write.
    const metaspace = await oppu('export-gguf', '--base', modelDir, '--out', join(dir, 'm.gguf'));
    expect(metaspace.code).toBe(1);
    expect(metaspace.stderr).toMatch(
      /^oppu export-gguf: .*tokenizer\.json: pre_tokenizer "Metaspace"[^\n]*\n$/,
    );
    const ia3Dir = join(dir, 'ia3');
    await saveAdapter(ia3Dir, { config: { peft_type: 'IA3' }, tensors: new Map() });
    const ia3 = await oppu(
      'export-gguf',
      '--base',
      modelDir,
      '--adapter',
      ia3Dir,
      '--out',
      join(dir, 'x.gguf'),
    );
    expect(ia3.code).toBe(1);
    expect(ia3.stderr).toMatch(/peft_type "IA3"; llama.cpp loads LoRA adapters only/);
    await mkdir(join(dir, 'folder.gguf'));
    const folder = await oppu('export-gguf', '--out', join(dir, 'folder.gguf'));
    expect(folder.stderr).toMatch(/folder\.gguf: is a folder; give the path of the \.gguf file to write/);
  });
});
