import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { resetWasmHeapPeak, wasmHeapUsage } from '../backend/wasm-memory.js';
import { installKernels, uninstallKernels } from '../kernels/index.js';
import { KVCache, type LlamaConfig, LlamaModel, randomLlamaArrays } from '../model/llama.js';
import { inferenceBytesPerToken } from '../model/memory-budget.js';
import { HfTokenizer } from '../tokenizer/hf-tokenizer.js';
import { tinyTokenizerJson } from '../tokenizer/tiny-tokenizer.js';
import { TfBaseModel } from './tf-base-model.js';

const { json, config: tokConfig } = tinyTokenizerJson();
const tokenizer = new HfTokenizer(json, tokConfig);

const CONFIG: LlamaConfig = {
  dim: 32,
  hidden: 64,
  layers: 4,
  heads: 4,
  kvHeads: 2,
  vocab: 80,
  maxSeqLen: 640,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'half',
  tiedEmbeddings: false,
};

/** Random weights large enough that greedy choices are decisive (no near-ties between batch layouts). */
function decisiveModel(seed: number): LlamaModel {
  const w = randomLlamaArrays(CONFIG, seed);
  const scale = (a: Float32Array, s: number) => {
    for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) * s;
  };
  scale(w.embed, 50);
  scale(w.lmHead as Float32Array, 100);
  return new LlamaModel(CONFIG, w);
}

const sentence = (n: number) =>
  Array.from({ length: n }, (_, i) => ['the', 'cat', 'sat', 'on', 'a', 'mat'][i % 6]).join(' ');

describe('inference within a token budget', () => {
  let model: LlamaModel;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', wasmThreads: 1, log: () => {} });
    installKernels();
    model = decisiveModel(3);
  });
  afterAll(() => {
    model.dispose();
    uninstallKernels();
  });

  it('generates a batch in prefills of at most maxBatchTokens, with the answers of one batch', async () => {
    const prompts = [5, 120, 40, 200, 12, 90].map((n) => ({ prompt: sentence(n) }));
    const whole = new TfBaseModel(model, tokenizer, { name: 'm', hash: 'h' });
    const parts = new TfBaseModel(model, tokenizer, { name: 'm', hash: 'h', maxBatchTokens: 260 });
    const longest = Math.max(...prompts.map((p) => tokenizer.encode(p.prompt).length));
    const options = { maxNewTokens: 4, temperature: 0 };
    resetWasmHeapPeak();
    const a = await whole.generate(prompts, options);
    const wholePeak = wasmHeapUsage()!.peakBytes;
    resetWasmHeapPeak();
    const b = await parts.generate(prompts, options);
    const partsPeak = wasmHeapUsage()!.peakBytes;
    expect(b.map((r) => r.ids)).toEqual(a.map((r) => r.ids));
    expect(b.map((r) => r.promptIds)).toEqual(a.map((r) => r.promptIds));
    expect(longest).toBeGreaterThan(260 / 2); // the longest prompt runs alone
    expect(partsPeak).toBeLessThan(wholePeak / 2);
  });

  it('holds one layer’s attention scores at a time in a long prefill (all layers’ were kept)', () => {
    const t = 600;
    const ids = tf.tensor2d(
      Array.from({ length: t }, (_, i) => 4 + (i % 70)),
      [1, t],
      'int32',
    );
    const cache = new KVCache();
    try {
      resetWasmHeapPeak();
      const before = wasmHeapUsage()!.liveBytes;
      const logits = model.forward(ids, {
        cache,
        attentionMask: [new Array<number>(t).fill(1)],
        logitsToKeep: 1,
      });
      logits.dispose();
      const peak = wasmHeapUsage()!.peakBytes - before;
      const keys = cache.capacity;
      const dims = { ...model.dims, vocabSize: CONFIG.vocab };
      expect(peak).toBeLessThan(t * inferenceBytesPerToken(dims, keys));
      // One layer's scores, scaled scores, masked scores and softmax: 4 x [h, t, keys] floats; 4 layers' were more.
      expect(peak).toBeLessThan(2 * 4 * (4 * CONFIG.heads * t * keys));
    } finally {
      ids.dispose();
      cache.dispose();
    }
  });
});
