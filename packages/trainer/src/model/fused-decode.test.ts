import { OPPU_LORA } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { argmax } from '../generate/sampling.js';
import { relErr, useWasm } from '../kernels/kernel-testing.js';
import { nativeKernels } from '../kernels/native.js';
import { loraBatchAdapter } from '../peft/lora/batch.js';
import { LoraModel } from '../peft/lora/model.js';
import type { LinearAdapter } from './hooks.js';
import { KV_BLOCK } from './kv-heap.js';
import { KVCache, type LlamaConfig, LlamaModel, projectionShape, randomLlamaArrays } from './llama.js';

const BASE: LlamaConfig = {
  dim: 48,
  hidden: 80,
  layers: 3,
  heads: 6,
  kvHeads: 2,
  vocab: 40,
  maxSeqLen: 200,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'half',
  tiedEmbeddings: true,
};

const VARIANTS: Record<string, Partial<LlamaConfig>> = {
  'grouped-query, HF RoPE, tied head': {},
  'interleaved RoPE, untied head, MHA': { ropeStyle: 'interleaved', tiedEmbeddings: false, kvHeads: 6 },
  'q/k/v biases (Qwen2)': { biases: ['q_proj', 'k_proj', 'v_proj'] },
  'attention and MLP biases (Llama attention_bias, mlp_bias)': {
    biases: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  },
  'sliding window shorter than the text (Mistral)': { slidingWindow: 9 },
  'explicit head size': { headDim: 16 },
};

/** Greedy decoding of `steps` tokens after `prompt`, one token a call, with the fused step on or off. */
function decode(model: LlamaModel, prompt: number[], steps: number, fused: boolean, adapter?: LinearAdapter) {
  const before = process.env.OPPU_FUSED_DECODE;
  process.env.OPPU_FUSED_DECODE = fused ? '1' : '0';
  const cache = new KVCache();
  const logits: Float32Array[] = [];
  const tokens: number[] = [];
  try {
    let ids = tf.tensor2d(prompt, [1, prompt.length], 'int32');
    for (let s = 0; s < steps; s++) {
      const out = model.forward(ids, { cache, logitsToKeep: 1, ...(adapter ? { adapter } : {}) });
      const row = out.dataSync() as Float32Array;
      tf.dispose([ids, out]);
      logits.push(row);
      const next = argmax(row);
      tokens.push(next);
      ids = tf.tensor2d([next], [1, 1], 'int32');
    }
    ids.dispose();
  } finally {
    cache.dispose();
    if (before === undefined) delete process.env.OPPU_FUSED_DECODE;
    else process.env.OPPU_FUSED_DECODE = before;
  }
  return { logits, tokens };
}

/**
 * Greedy decoding through the graph, then through the fused step (the native calls counted): the same tokens
 * and logits within 1e-5, no tensor left behind but the adapter's own caches (`ownTensors`). Returns the tokens.
 */
function expectSameDecoding(
  model: LlamaModel,
  prompt: number[],
  adapter?: LinearAdapter,
  ownTensors = 0,
): number[] {
  const before = tf.memory().numTensors;
  const native = nativeKernels()!;
  const step = native.decodeStep!;
  let calls = 0;
  native.decodeStep = (...args) => {
    calls++;
    step.apply(native, args);
  };
  let graph: ReturnType<typeof decode>;
  let fused: ReturnType<typeof decode>;
  try {
    graph = decode(model, prompt, 12, false, adapter);
    expect(calls).toBe(0);
    fused = decode(model, prompt, 12, true, adapter);
    expect(calls).toBe(11); // every step after the prompt
  } finally {
    native.decodeStep = step;
  }
  expect(tf.memory().numTensors).toBe(before + ownTensors);
  expect(fused.tokens).toEqual(graph.tokens);
  graph.logits.forEach((g, i) => {
    const [a, b] = [tf.tensor1d(fused.logits[i]!), tf.tensor1d(g)];
    expect(relErr(a, b), `step ${i}`).toBeLessThan(1e-5);
    tf.dispose([a, b]);
  });
  return graph.tokens;
}

/** Small random biases for the projections `c.biases` names. */
function withBiases(c: LlamaConfig, w: ReturnType<typeof randomLlamaArrays>) {
  let seed = 5;
  const noise = (n: number) =>
    Float32Array.from({ length: n }, () => {
      seed = (seed * 69069 + 1) >>> 0;
      return (seed / 2 ** 32 - 0.5) * 0.2;
    });
  // Larger embeddings make the logits decisive, so greedy tokens are not near-ties.
  return {
    ...w,
    embed: w.embed.map((v) => v * 30),
    layers: w.layers.map((l) => ({
      ...l,
      bias: Object.fromEntries((c.biases ?? []).map((m) => [m, noise(projectionShape(c, m)[1])])),
    })),
  };
}

describe.skipIf(!nativeKernels()?.decodeStep)(
  'the fused decoding step (native, all layers in one call)',
  () => {
    beforeAll(async () => {
      await useWasm();
    });

    for (const [name, extra] of Object.entries(VARIANTS)) {
      it(`gives the graph's logits and tokens: ${name}`, () => {
        const c: LlamaConfig = { ...BASE, ...extra };
        const model = new LlamaModel(c, withBiases(c, randomLlamaArrays(c, 11)));
        try {
          // Decoding crosses a block of the cache's capacity, so its buffers grow mid-way.
          expectSameDecoding(
            model,
            Array.from({ length: KV_BLOCK - 3 }, (_, i) => (i * 7 + 3) % c.vocab),
          );
        } finally {
          model.dispose();
        }
      });
    }

    it("adds a user's LoRA (alone, and as the engine's one-row batch) as the graph does", () => {
      const c: LlamaConfig = { ...BASE, biases: ['q_proj', 'k_proj', 'v_proj'] };
      const model = new LlamaModel(c, withBiases(c, randomLlamaArrays(c, 4)));
      const lora = new LoraModel(
        { ...OPPU_LORA, r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj', 'o_proj', 'down_proj'] },
        model.dims,
        { seed: 2 },
      );
      for (const p of lora.allPairs()) p.b.assign(tf.randomNormal(p.b.shape, 0, 3, 'float32', 7 + p.layer));
      const prompt = Array.from({ length: KV_BLOCK - 3 }, (_, i) => (i * 5 + 1) % c.vocab);
      try {
        const plain = expectSameDecoding(model, prompt);
        const alone = expectSameDecoding(model, prompt, lora.asLinearAdapter());
        expect(alone).not.toEqual(plain); // the adapter changes the answer
        const before = tf.memory().numTensors;
        const batch = loraBatchAdapter([lora], [0]);
        try {
          // The batch keeps its gathered pairs (one A and one B per adapted projection) until disposed.
          expect(expectSameDecoding(model, prompt, batch, 2 * 4 * c.layers)).toEqual(alone);
        } finally {
          batch.dispose();
        }
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        lora.dispose();
        model.dispose();
      }
    });

    it('runs the graph instead when the step is not a plain one (a padded row)', () => {
      const c = BASE;
      const model = new LlamaModel(c, randomLlamaArrays(c, 3));
      const cache = new KVCache();
      try {
        const ids = tf.tensor2d([0, 5, 6], [1, 3], 'int32');
        const two = tf.tensor2d([5, 6], [1, 2], 'int32');
        const one = tf.tensor2d([7], [1, 1], 'int32');
        tf.dispose(model.forward(ids, { cache, attentionMask: [[0, 1, 1]], logitsToKeep: 1 }));
        const padded = model.forward(one, { cache, attentionMask: [[0, 1, 1, 1]], logitsToKeep: 1 });
        const cache2 = new KVCache();
        tf.dispose(model.forward(two, { cache: cache2, logitsToKeep: 1 }));
        const plain = model.forward(one, { cache: cache2, logitsToKeep: 1 });
        // The pad takes no position: both rows see 5, 6, 7 at positions 0, 1, 2.
        expect(relErr(padded, plain)).toBeLessThan(1e-5);
        tf.dispose([ids, two, one, padded, plain]);
        cache2.dispose();
      } finally {
        cache.dispose();
        model.dispose();
      }
    });
  },
);
