import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { softmaxCrossEntropy } from '../kernels/cross-entropy.js';
import { LoraModel } from '../peft/lora/model.js';
import { ensureGradients } from '../train/gradients.js';
import { KVCache, type LlamaConfig, LlamaModel, randomLlamaArrays } from './llama.js';

const C: LlamaConfig = {
  dim: 16,
  hidden: 24,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  vocab: 20,
  maxSeqLen: 16,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'interleaved',
  tiedEmbeddings: true,
};

describe('LlamaModel', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'cpu', log: () => {} });
  });

  it('refuses weights of the wrong size by name, before allocating anything', () => {
    const w = randomLlamaArrays(C, 1);
    const before = tf.memory().numTensors;
    const bad = { ...w, layers: [w.layers[0], { ...w.layers[1], v_proj: new Float32Array(3) }] } as typeof w;
    expect(() => new LlamaModel(C, bad)).toThrow(/layers.1.v_proj has 3 values, expected 128/);
    expect(() => new LlamaModel({ ...C, tiedEmbeddings: false }, w)).toThrow(
      /untied embeddings but no lmHead/,
    );
    expect(() => new LlamaModel({ ...C, heads: 3 }, w)).toThrow(/dim 16 is not a multiple of heads 3/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('exposes its frozen projections as BaseWeights: set changes the function, shapes are checked', () => {
    const model = new LlamaModel(C, randomLlamaArrays(C, 2));
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    const y0 = model.forward(ids);
    const ctx = { layer: 1, module: 'up_proj' as const };
    const w = model.getWeight(ctx);
    expect(w.shape).toEqual([16, 24]);
    expect((w as tf.Variable).trainable).toBe(false);
    const doubled = tf.mul(w, 2) as tf.Tensor2D;
    model.setWeight(ctx, doubled);
    doubled.dispose();
    const y1 = model.forward(ids);
    expect(tf.max(tf.abs(tf.sub(y0, y1))).dataSync()[0]).toBeGreaterThan(1e-6);
    const wrong = tf.zeros([24, 16]) as tf.Tensor2D;
    expect(() => model.setWeight(ctx, wrong)).toThrow(
      /setWeight\(layer 1, up_proj\): shape \[24,16\] differs from \[16,24\]/,
    );
    expect(() => model.getWeight({ layer: 5, module: 'q_proj' })).toThrow(
      /no projection "q_proj" in layer 5/,
    );
    tf.dispose([ids, y0, y1, wrong]);
    model.dispose();
  });

  it('frees everything but the logits, with and without a cache, and refuses to run past maxSeqLen', () => {
    const model = new LlamaModel(C, randomLlamaArrays(C, 3));
    const before = tf.memory().numTensors;
    const cache = new KVCache();
    for (let i = 0; i < 5; i++) {
      const ids = tf.tensor2d([[i + 1], [i + 2]], [2, 1], 'int32');
      tf.dispose([ids, model.forward(ids, { cache })]);
    }
    expect(cache.length).toBe(5);
    expect(tf.memory().numTensors).toBe(before + 2 * C.layers); // k and v per layer
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // An adapter failing in layer 1, after layer 0 has produced its cache entries: nothing is left behind.
    const failing = {
      linear: (ctx: { layer: number }, x: tf.Tensor3D, base: (x: tf.Tensor3D) => tf.Tensor3D) => {
        if (ctx.layer === 1) throw new Error('adapter failed');
        return base(x);
      },
    };
    const one = tf.tensor2d([[1]], [1, 1], 'int32');
    const fresh = new KVCache();
    expect(() => model.forward(one, { adapter: failing, cache: fresh })).toThrow('adapter failed');
    expect(fresh.length).toBe(0);
    one.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const long = tf.zeros([1, 17], 'int32') as tf.Tensor2D;
    expect(() => model.forward(long)).toThrow(/17 positions exceed maxSeqLen 16/);
    long.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('merges a LoRA into its frozen weights (BaseWeights) to the same function, and unmerges back', () => {
    const model = new LlamaModel(C, randomLlamaArrays(C, 4));
    const fresh = new LoraModel(
      { method: 'lora', r: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj', 'down_proj'] },
      model.dims,
      { seed: 1 },
    );
    const w = fresh.toWeights();
    fresh.dispose();
    const tensors = new Map(
      [...w.tensors].map(([n, t]) => [
        n,
        n.includes('lora_B')
          ? { ...t, data: Float32Array.from(t.data as Float32Array, (_, i) => Math.cos(i)) }
          : t,
      ]),
    );
    const lora = LoraModel.fromWeights({ config: w.config, tensors }, model.dims);
    const ids = tf.tensor2d([[1, 5, 7, 2, 9]], [1, 5], 'int32');
    const plain = model.forward(ids);
    const adapted = model.forward(ids, lora.asLinearAdapter());
    const gap = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number;
    expect(gap(plain, adapted)).toBeGreaterThan(1e-3);
    lora.merge(model);
    const merged = model.forward(ids);
    expect(gap(merged, adapted)).toBeLessThan(1e-4);
    lora.unmerge(model);
    const back = model.forward(ids);
    expect(gap(back, plain)).toBeLessThan(1e-4);
    tf.dispose([ids, plain, adapted, merged, back]);
    lora.dispose();
    model.dispose();
  });

  it('trains its own weights in trainable mode: frozen logits, a gradient for every weight (untied head, biases)', async () => {
    await ensureGradients();
    const c: LlamaConfig = { ...C, tiedEmbeddings: false, biases: ['q_proj', 'v_proj'] };
    const w = randomLlamaArrays(c, 7);
    const withBias = {
      ...w,
      layers: w.layers.map((l) => ({
        ...l,
        bias: { q_proj: new Float32Array(16).fill(0.1), v_proj: new Float32Array(8).fill(-0.2) },
      })),
    };
    const frozen = new LlamaModel(c, withBias);
    const model = new LlamaModel(c, withBias, { trainable: true });
    const ids = tf.tensor2d([[1, 5, 9, 2, 7]], [1, 5], 'int32');
    const a = tf.tidy(() => Array.from(frozen.forward(ids).dataSync()));
    const b = tf.tidy(() => Array.from(model.forward(ids).dataSync()));
    expect(Math.max(...a.map((x, i) => Math.abs(x - (b[i] as number))))).toBeLessThan(1e-5);
    const named = model.namedVariables();
    expect([...named.keys()]).toContain('lm_head.weight');
    expect([...named.keys()]).toContain('model.layers.1.self_attn.v_proj.bias');
    expect([...named.values()].reduce((n, v) => n + v.size, 0)).toBe(model.numParameters);
    expect([...frozen.namedVariables().values()].some((v) => v.trainable)).toBe(false);
    const vars = [...named.values()];
    const targets = tf.tensor1d([5, 9, 2, 7, 3], 'int32');
    const { value, grads } = tf.variableGrads(
      () => softmaxCrossEntropy(tf.reshape(model.forward(ids), [5, 20]) as tf.Tensor2D, targets),
      vars,
    );
    for (const [name, v] of named) {
      const g = grads[v.name];
      expect(g, name).toBeDefined();
      expect(tf.tidy(() => tf.norm(g as tf.Tensor).dataSync()[0]) as number, name).toBeGreaterThan(0);
    }
    tf.dispose([ids, targets, value, grads as Record<string, tf.Tensor>]);
    frozen.dispose();
    model.dispose();
  });
});
