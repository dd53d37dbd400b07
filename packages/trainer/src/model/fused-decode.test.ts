import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { argmax } from '../generate/sampling.js';
import { relErr, useWasm } from '../kernels/kernel-testing.js';
import { nativeKernels } from '../kernels/native.js';
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
function decode(model: LlamaModel, prompt: number[], steps: number, fused: boolean) {
  const before = process.env.OPPU_FUSED_DECODE;
  process.env.OPPU_FUSED_DECODE = fused ? '1' : '0';
  const cache = new KVCache();
  const logits: Float32Array[] = [];
  const tokens: number[] = [];
  try {
    let ids = tf.tensor2d(prompt, [1, prompt.length], 'int32');
    for (let s = 0; s < steps; s++) {
      const out = model.forward(ids, { cache, logitsToKeep: 1 });
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

describe.skipIf(!nativeKernels()?.decodeStep)(
  'the fused decoding step (native, all layers in one call)',
  () => {
    beforeAll(async () => {
      await useWasm();
    });

    for (const [name, extra] of Object.entries(VARIANTS)) {
      it(`gives the graph's logits and tokens: ${name}`, () => {
        const c: LlamaConfig = { ...BASE, ...extra };
        const w = randomLlamaArrays(c, 11);
        let seed = 5;
        const noise = (n: number) =>
          Float32Array.from({ length: n }, () => {
            seed = (seed * 69069 + 1) >>> 0;
            return (seed / 2 ** 32 - 0.5) * 0.2;
          });
        const layers = w.layers.map((l) => ({
          ...l,
          bias: Object.fromEntries((c.biases ?? []).map((m) => [m, noise(projectionShape(c, m)[1])])),
        }));
        // Larger embeddings make the logits decisive, so greedy tokens are not near-ties.
        const model = new LlamaModel(c, { ...w, layers, embed: w.embed.map((v) => v * 30) });
        try {
          const prompt = Array.from({ length: KV_BLOCK - 3 }, (_, i) => (i * 7 + 3) % c.vocab);
          const before = tf.memory().numTensors;
          // Decoding crosses a block of the cache's capacity, so its buffers grow mid-way.
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
            graph = decode(model, prompt, 12, false);
            expect(calls).toBe(0);
            fused = decode(model, prompt, 12, true);
            expect(calls).toBe(11); // every step after the prompt
          } finally {
            native.decodeStep = step;
          }
          expect(tf.memory().numTensors).toBe(before);
          expect(fused.tokens).toEqual(graph.tokens);
          graph.logits.forEach((g, i) => {
            expect(relErr(tf.tensor1d(fused.logits[i]!), tf.tensor1d(g)), `step ${i}`).toBeLessThan(1e-5);
          });
        } finally {
          model.dispose();
        }
      });
    }

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
