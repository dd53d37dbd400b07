/**
 * User story: "our users' base is Llama 3.2 (or Qwen2.5, Mistral, SmolLM2...), served by llama.cpp". For every
 * checkpoint family the loader reads, a small random checkpoint in that family's exact HF layout (rope scaling,
 * q/k/v biases, tied embeddings, explicit head_dim, a sliding window) is exported with `exportGguf`, with a
 * user's LoRA; llama.cpp (node-llama-cpp 3.21.1, its shipped CPU build) must continue our prompt ids with our
 * greedy tokens, without and with the adapter, and the adapter must change them. The checkpoints carry the
 * embedded model's byte-level tokenizer (4096 ids): the random checkpoints' own Metaspace tokenizer has no GGUF
 * form here.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdapterWeights, PeftEngine } from '@oppu/core';
import { createEngine, defaultBaseModelDir, exportGguf } from '@oppu/node';
import {
  CHECKPOINT_FAMILIES,
  type CheckpointFamily,
  llamaConfigFromHf,
  loraConfigToPeft,
  peftModulePath,
  projectionShape,
  saveAdapter,
  writeRandomCheckpoint,
} from '@oppu/trainer';
import { getLlama, type Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { llamaCppGreedy } from './llama-cpp-greedy.js';

/** Every family the loader reads: rope scaling of every kind, biases, tied embeddings, head_dim, a sliding window. */
const FAMILIES: readonly CheckpointFamily[] = CHECKPOINT_FAMILIES;
const PROMPTS = ['Once upon a time', "I'll be there at 10:30, won't I?", 'Dear team,\nthe report  is late'];
const NEW_TOKENS = 8;

let root: string;
let llama: Llama;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-gguf-families-'));
  llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
});
afterAll(async () => {
  await llama?.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

/** A random checkpoint of the family with the embedded model's tokenizer (its vocabulary, 4096 ids). */
async function checkpoint(family: CheckpointFamily): Promise<string> {
  const dir = join(root, family);
  await writeRandomCheckpoint(dir, family, { seed: 3, dtype: 'float32', sizes: { vocab_size: 4096 } });
  const tiny = defaultBaseModelDir();
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'])
    await copyFile(join(tiny, f), join(dir, f));
  if (family === 'llama3') {
    // Llama 3.2's scaling starts past 8,192 positions in its published form, where a 64-token test sees no
    // difference; a smaller original context puts most frequencies of these heads in the scaled bands.
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    const scaling = { ...config.rope_scaling, original_max_position_embeddings: 16, factor: 8 };
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ ...config, rope_theta: 10000, rope_scaling: scaling }),
    );
  }
  if (family === 'mistral') {
    // The test's prompts and answers stay within a 64-position window; the export declares a context of 64.
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, sliding_window: 64 }));
  }
  return dir;
}

/** A LoRA with random A and B on q/k/v/o (q/k rows must be permuted for llama.cpp's RoPE, v/o not). */
async function randomLora(dir: string): Promise<AdapterWeights> {
  const c = llamaConfigFromHf(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')), 'config.json');
  const r = 4;
  let s = 777;
  const uniform = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  };
  const targets = ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const;
  const tensors = new Map<string, { dtype: 'float32'; shape: number[]; data: Float32Array }>();
  for (let layer = 0; layer < c.layers; layer++) {
    for (const m of targets) {
      const [inF, outF] = projectionShape(c, m);
      const p = peftModulePath(layer, m);
      const data = (n: number) => Float32Array.from({ length: n }, () => uniform() * 0.3);
      tensors.set(`${p}.lora_A.weight`, { dtype: 'float32', shape: [r, inF], data: data(r * inF) });
      tensors.set(`${p}.lora_B.weight`, { dtype: 'float32', shape: [outF, r], data: data(outF * r) });
    }
  }
  return {
    config: loraConfigToPeft({ method: 'lora', r, alpha: 8, dropout: 0, targetModules: [...targets] }),
    tensors,
  };
}

describe.each(FAMILIES)('%s exported to GGUF runs in llama.cpp as in oppu', (family) => {
  let dir: string;
  let engine: PeftEngine;
  let adapter: AdapterWeights;
  beforeAll(async () => {
    dir = await checkpoint(family);
    adapter = await randomLora(dir);
    await saveAdapter(join(root, `${family}-user`), adapter);
    await exportGguf({ baseModelDir: dir, out: join(root, `${family}.gguf`) });
    await exportGguf({
      baseModelDir: dir,
      adapterDir: join(root, `${family}-user`),
      out: join(root, `${family}-user.gguf`),
    });
    engine = await createEngine({ baseModelDir: dir, onLog: () => {} });
  });
  afterAll(() => engine?.dispose());

  it('greedy tokens agree without and with the user adapter, and the adapter changes them', async () => {
    const model = await llama.loadModel({ modelPath: join(root, `${family}.gguf`), gpuLayers: 0 });
    try {
      const eos = model.tokens.eos as number;
      const ours = async (weights?: AdapterWeights) =>
        (
          await engine.model.generate(
            PROMPTS.map((prompt) => ({ prompt, ...(weights ? { adapter: weights } : {}) })),
            { maxNewTokens: NEW_TOKENS, temperature: 0 },
          )
        ).map((r) => ({
          promptIds: r.promptIds as number[],
          ids: (r.ids as number[]).filter((id) => id !== eos),
        }));
      const plain = await ours();
      const personal = await ours(adapter);
      let changed = 0;
      for (const [i, p] of plain.entries()) {
        expect(
          await llamaCppGreedy(model, p.promptIds, NEW_TOKENS, { contextSize: 64 }),
          `${family}: prompt ${i}, base`,
        ).toEqual(p.ids);
        const q = personal[i]!;
        expect(
          await llamaCppGreedy(model, q.promptIds, NEW_TOKENS, {
            lora: join(root, `${family}-user.gguf`),
            contextSize: 64,
          }),
          `${family}: prompt ${i}, adapter`,
        ).toEqual(q.ids);
        if (q.ids.join() !== p.ids.join()) changed++;
      }
      expect(changed, `${family}: the adapter changes the greedy tokens of some prompt`).toBeGreaterThan(0);
    } finally {
      await model.dispose();
    }
  });
});
