import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { installKernels, uninstallKernels } from '../kernels/index.js';
import { loadHfCheckpoint, saveHfCheckpoint } from '../loaders/hf-checkpoint.js';
import { loadLlama2c } from '../loaders/llama2c.js';
import { KVCache, LlamaModel } from './llama.js';

// Parity with llama2.c's reference C forward pass on Karpathy's stories260K (a checkpoint nobody here wrote).
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const fixtures = path.resolve(repoRoot, '../shared/fixtures/stories260K');
const present = existsSync(path.join(fixtures, 'stories260K.bin'));
if (!present)
  console.warn(`stories260K parity tests skipped: ${fixtures} is absent (it is not committed to the repo)`);

interface Reference {
  bos: number;
  greedy_ids: number[];
  logits_at_positions: Record<string, { input_token: number; logits: number[] }>;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if ((a[i] as number) > (a[best] as number)) best = i;
  return best;
}

// 'wasm+kernels': the fast matMul of src/kernels installed (native addon when built, else XNNPACK per batch).
describe.skipIf(!present).each(['cpu', 'wasm', 'wasm+kernels'] as const)(
  'stories260K parity on %s',
  (variant) => {
    let model: LlamaModel;
    let ref: Reference;

    it('loads the checkpoint', async () => {
      await initBackend({ backend: variant === 'cpu' ? 'cpu' : 'wasm', log: () => {} });
      if (variant === 'wasm+kernels') expect(['native', 'wasm']).toContain(installKernels().matMul);
      const ckpt = await loadLlama2c(path.join(fixtures, 'stories260K.bin'));
      expect(ckpt.config).toMatchObject({
        dim: 64,
        hidden: 172,
        layers: 5,
        heads: 8,
        kvHeads: 4,
        vocab: 512,
      });
      expect(ckpt.hash).toMatch(/^[0-9a-f]{64}$/);
      model = new LlamaModel(ckpt.config, ckpt.weights);
      ref = JSON.parse(readFileSync(path.join(fixtures, 'stories260K.reference.json'), 'utf8')) as Reference;
    });

    afterAll(() => {
      model?.dispose();
      if (variant === 'wasm+kernels') uninstallKernels();
    });

    it('reproduces the greedy ids and logits without a KV cache (one forward over the whole sequence)', () => {
      const n = ref.greedy_ids.length;
      const inputs = [ref.bos, ...ref.greedy_ids.slice(0, n - 1)];
      const ids = tf.tensor2d([inputs], [1, n], 'int32');
      const logits = model.forward(ids); // [1, n, 512]
      const data = logits.dataSync();
      tf.dispose([ids, logits]);
      const V = 512;
      const greedy = Array.from({ length: n }, (_, p) => argmax(data.subarray(p * V, (p + 1) * V)));
      expect(greedy).toEqual(ref.greedy_ids);
      for (const [p, r] of Object.entries(ref.logits_at_positions)) {
        expect(inputs[Number(p)]).toBe(r.input_token);
        expect(maxAbsDiff(data.subarray(Number(p) * V, (Number(p) + 1) * V), r.logits)).toBeLessThan(1e-4);
      }
    });

    it('reproduces them token by token with the KV cache, greedy from BOS', () => {
      const before = tf.memory().numTensors;
      const cache = new KVCache();
      let next = ref.bos;
      const greedy: number[] = [];
      for (let p = 0; p < ref.greedy_ids.length; p++) {
        const ids = tf.tensor2d([[next]], [1, 1], 'int32');
        const logits = model.forward(ids, { cache });
        const row = logits.dataSync();
        tf.dispose([ids, logits]);
        const r = ref.logits_at_positions[String(p)];
        if (r) {
          expect(r.input_token).toBe(next);
          expect(maxAbsDiff(row, r.logits)).toBeLessThan(1e-4);
        }
        next = argmax(row);
        greedy.push(next);
      }
      expect(greedy).toEqual(ref.greedy_ids);
      expect(cache.length).toBe(ref.greedy_ids.length);
      cache.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  },
);

describe.skipIf(!present)('stories260K through the HF writer and loader', () => {
  it('converted to an HF checkpoint (q/k permuted for rotate_half), it still matches llama2.c', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'oppu-stories-hf-'));
    try {
      await initBackend({ backend: 'cpu', log: () => {} });
      const ref = JSON.parse(
        readFileSync(path.join(fixtures, 'stories260K.reference.json'), 'utf8'),
      ) as Reference;
      const ckpt = await loadLlama2c(path.join(fixtures, 'stories260K.bin'));
      await saveHfCheckpoint(dir, ckpt.config, ckpt.weights);
      const hf = await loadHfCheckpoint(dir);
      expect(hf.config).toEqual({ ...ckpt.config, ropeStyle: 'half' });
      const converted = new LlamaModel(hf.config, hf.weights);
      const inputs = [ref.bos, ...ref.greedy_ids.slice(0, 40)];
      const ids = tf.tensor2d([inputs], [1, inputs.length], 'int32');
      const logits = converted.forward(ids);
      const data = logits.dataSync();
      tf.dispose([ids, logits]);
      converted.dispose();
      for (const [p, r] of Object.entries(ref.logits_at_positions)) {
        expect(maxAbsDiff(data.subarray(Number(p) * 512, (Number(p) + 1) * 512), r.logits)).toBeLessThan(
          1e-4,
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
