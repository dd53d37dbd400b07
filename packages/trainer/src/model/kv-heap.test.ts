import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAll } from '../generate/generate-tokens.js';
import { argmax } from '../generate/sampling.js';
import { relErr, useWasm } from '../kernels/kernel-testing.js';
import { KV_BLOCK } from './kv-heap.js';
import { KVCache, type LlamaConfig, LlamaModel, randomLlamaArrays } from './llama.js';

const C: LlamaConfig = {
  dim: 32,
  hidden: 48,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  vocab: 30,
  maxSeqLen: 150,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'interleaved',
  tiedEmbeddings: true,
};

describe('the KV cache written in place (wasm)', () => {
  let model: LlamaModel;
  beforeAll(async () => {
    await useWasm();
    const w = randomLlamaArrays(C, 7);
    model = new LlamaModel(C, { ...w, embed: w.embed.map((v) => v * 40) });
  });
  afterAll(() => model.dispose());

  it('decodes across a capacity block as full recomputation does, left padding included', () => {
    const before = tf.memory().numTensors;
    const L = KV_BLOCK - 4; // the prompt fills most of the first block; decoding grows the buffers
    const rows = [
      Array.from({ length: L }, (_, i) => (i * 7 + 1) % C.vocab),
      Array.from({ length: L }, (_, i) => (i < 5 ? 0 : (i * 3 + 2) % C.vocab)), // 5 pads in front
    ];
    const mask = rows.map((r, ri) => r.map((_, i) => (ri === 1 && i < 5 ? 0 : 1)));
    const cache = new KVCache();
    let ids = tf.tensor2d(rows.flat(), [2, L], 'int32');
    for (let step = 0; step < 10; step++) {
      // step 0: the prompt; then one token a step
      const got = model.forward(ids, { cache, attentionMask: mask, logitsToKeep: 1 });
      const t = mask[0]!.length;
      const full = tf.tidy(() => {
        const all = tf.tensor2d(rows.flat(), [2, t], 'int32');
        const logits = model.forward(all, { attentionMask: mask });
        return tf.slice(logits, [0, t - 1, 0], [2, 1, C.vocab]);
      });
      expect(relErr(got, full), `step ${step}`).toBeLessThan(1e-5);
      const data = got.dataSync();
      tf.dispose([ids, got, full]);
      const next = [0, 1].map((r) => argmax(data.subarray(r * C.vocab, (r + 1) * C.vocab)));
      next.forEach((tok, r) => {
        rows[r]!.push(tok);
        mask[r]!.push(1);
      });
      ids = tf.tensor2d(next, [2, 1], 'int32');
    }
    ids.dispose();
    expect(cache.length).toBe(L + 9); // the last step's token is not fed back
    expect(cache.capacity).toBe(2 * KV_BLOCK);
    expect(cache.layers[0]!.k.shape).toEqual([2, C.kvHeads, 2 * KV_BLOCK, C.dim / C.heads]);
    expect(tf.memory().numTensors).toBe(before + 2 * C.layers);
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps its buffers when a step fails, and frees the ones that step made', () => {
    const before = tf.memory().numTensors;
    const cache = new KVCache();
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    tf.dispose(model.forward(ids, { cache }));
    const kept = cache.layers.map((l) => l.k);
    const failing = {
      linear: (ctx: { layer: number }, x: tf.Tensor3D, base: (x: tf.Tensor3D) => tf.Tensor3D) => {
        if (ctx.layer === 1) throw new Error('adapter failed');
        return base(x);
      },
    };
    expect(() => model.forward(ids, { cache, adapter: failing })).toThrow('adapter failed');
    expect(cache.length).toBe(3);
    expect(cache.layers.map((l) => l.k)).toEqual(kept);
    expect(tf.memory().numTensors).toBe(before + 1 + 2 * C.layers);
    // Growing past the first block and failing there frees the grown buffers, keeps the old ones.
    const long = tf.zeros([1, KV_BLOCK], 'int32') as tf.Tensor2D;
    expect(() => model.forward(long, { cache, adapter: failing })).toThrow('adapter failed');
    expect(cache.capacity).toBe(KV_BLOCK);
    expect(tf.memory().numTensors).toBe(before + 2 + 2 * C.layers);
    tf.dispose([ids, long]);
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('generates the same tokens for a request alone and in a padded batch', async () => {
    // The longest prompt and its new tokens cross the first block.
    const prompts = [Array.from({ length: KV_BLOCK - 3 }, (_, i) => (i * 5 + 3) % C.vocab), [4], [8, 8, 2]];
    const batched = await generateAll(model, prompts, { maxNewTokens: 8 });
    for (const [i, p] of prompts.entries()) {
      const [alone] = await generateAll(model, [p], { maxNewTokens: 8 });
      expect(batched[i]!.ids, `prompt ${i}`).toEqual(alone!.ids);
    }
  });

  it('selectRows copies rows that then extend on their own, across a block, the source untouched', () => {
    const before = tf.memory().numTensors;
    const L = KV_BLOCK - 2; // the continuations cross into a second block (the copies grow)
    const prompts = [
      Array.from({ length: L }, (_, i) => (i * 7 + 1) % C.vocab),
      Array.from({ length: L }, (_, i) => (i < 5 ? 0 : (i * 3 + 2) % C.vocab)), // 5 pads in front
    ];
    const promptMask = prompts.map((_, r) => prompts[r]!.map((_, i) => (r === 1 && i < 5 ? 0 : 1)));
    const cache = new KVCache();
    const x = tf.tensor2d(prompts.flat(), [2, L], 'int32');
    tf.dispose(model.forward(x, { cache, attentionMask: promptMask, logitsToKeep: 1 }));
    const from = [1, 0, 1];
    const cont = [
      [5, 6, 7, 8],
      [9, 10, 11, 12],
      [13, 14, 15, 16],
    ];
    const mask = from.map((r) => [...promptMask[r]!, 1, 1, 1, 1]);
    const check = (branch: KVCache) => {
      expect(branch.layers[0]!.k.shape[0]).toBe(3);
      const ids = tf.tensor2d(cont.flat(), [3, 4], 'int32');
      const got = model.forward(ids, { cache: branch, attentionMask: mask }); // [3, 4, V]
      const full = tf.tidy(() => {
        const all = tf.tensor2d(
          from.flatMap((r, i) => [...prompts[r]!, ...cont[i]!]),
          [3, L + 4],
          'int32',
        );
        return tf.slice(model.forward(all, { attentionMask: mask }), [0, L, 0], [3, 4, C.vocab]);
      });
      expect(relErr(got, full)).toBeLessThan(1e-5);
      expect(branch.capacity).toBe(2 * KV_BLOCK);
      tf.dispose([ids, got, full]);
    };
    const first = cache.selectRows(from);
    check(first);
    first.dispose();
    // The first copies' writes did not reach the source: a second selection continues exactly as well.
    expect(cache.length).toBe(L);
    const second = cache.selectRows(from);
    check(second);
    second.dispose();
    x.dispose();
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
