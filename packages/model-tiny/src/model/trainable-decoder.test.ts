import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type LlamaConfig, parameterCount } from './llama-config.js';
import { registerGradients } from './register-gradients.js';
import { crossEntropy, TinyLlama } from './tiny-llama.js';

const config: LlamaConfig = {
  vocabSize: 50,
  hiddenSize: 32,
  intermediateSize: 48,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  maxPositionEmbeddings: 16,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
  tieWordEmbeddings: true,
  bosTokenId: 1,
  eosTokenId: 2,
  padTokenId: 3,
};

describe('TinyLlama', () => {
  beforeAll(async () => {
    registerGradients();
    await tf.setBackend('cpu');
  });

  it('is causal: changing later tokens leaves earlier logits unchanged', () => {
    const model = new TinyLlama(config, 3);
    const a = [5, 9, 12, 7, 30, 41, 2, 8];
    const b = [5, 9, 12, 7, 11, 0, 49, 3];
    const run = (ids: number[]) =>
      tf.tidy(() => model.forward(tf.tensor2d(ids, [1, ids.length], 'int32')).arraySync()[0]!);
    const la = run(a);
    const lb = run(b);
    for (let t = 0; t < 4; t++) for (let v = 0; v < 50; v++) expect(lb[t]![v]).toBeCloseTo(la[t]![v]!, 5);
    expect(Math.abs(lb[4]![0]! - la[4]![0]!)).toBeGreaterThan(1e-6);
    model.dispose();
  });

  it('counts its parameters like the variables it holds', () => {
    const model = new TinyLlama(config, 1);
    const held = [...model.params.values()].reduce((n, v) => n + v.size, 0);
    expect(parameterCount(config)).toBe(held);
    model.dispose();
  });

  it('round-trips its weights through the HF [out, in] layout', () => {
    const a = new TinyLlama(config, 1);
    const b = new TinyLlama(config, 2);
    const hf = a.exportHfTensors();
    expect(hf.get('model.layers.0.self_attn.k_proj.weight')!.shape).toEqual([16, 32]); // [kvHeads*hd, d]
    b.importHfTensors(hf);
    const ids = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
    const la = tf.tidy(() => a.forward(ids).dataSync());
    const lb = tf.tidy(() => b.forward(ids).dataSync());
    expect(Array.from(lb)).toEqual(Array.from(la));
    ids.dispose();
    a.dispose();
    b.dispose();
  });

  it('computes cross-entropy and its gradient (softmax - onehot) / N', () => {
    const logits = tf.tensor2d([
      [1, 2, 3],
      [0, 0, 0],
    ]);
    const targets = tf.tensor1d([2, 0], 'int32');
    const loss = crossEntropy(logits, targets).dataSync()[0]!;
    const want = (Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3 + Math.log(3)) / 2;
    expect(loss).toBeCloseTo(want, 5);
    const g = tf
      .grad((z: tf.Tensor) => crossEntropy(z as tf.Tensor2D, targets))(logits)
      .arraySync() as number[][];
    expect(g[1]![0]).toBeCloseTo((1 / 3 - 1) / 2, 5);
    expect(g[1]![1]).toBeCloseTo(1 / 3 / 2, 5);
    tf.dispose([logits, targets]);
  });

  it('gives the norm gains the same gradients as tfjs autograd of the plain formula', () => {
    const model = new TinyLlama(config, 5);
    const ids = tf.tensor2d([[1, 7, 9, 4, 22, 3]], [1, 6], 'int32');
    const targets = tf.tensor2d([[7, 9, 4, 22, 3, 2]], [1, 6], 'int32');
    const names = ['model.layers.0.input_layernorm.weight', 'model.norm.weight'];
    const vars = names.map((n) => model.params.get(n)!);
    // Move the gains off 1 so that a wrong gradient formula shows.
    for (const v of vars)
      tf.tidy(() => v.assign(tf.add(v, tf.randomUniform(v.shape, -0.5, 0.5, 'float32', 9))));
    const { grads } = tf.variableGrads(() => model.loss(ids, targets), vars);
    // Finite differences on a few coordinates of each gain.
    const eps = 1e-2;
    for (const v of vars) {
      const g = grads[v.name]!.dataSync();
      for (const i of [0, 5, 17]) {
        const base = v.dataSync().slice();
        const at = (delta: number) => {
          const moved = base.slice();
          moved[i] = moved[i]! + delta;
          tf.tidy(() => v.assign(tf.tensor(moved, v.shape)));
          return tf.tidy(() => model.loss(ids, targets).dataSync()[0]!);
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
        expect(Math.abs(g[i]! - numeric)).toBeLessThan(0.1 * Math.abs(numeric) + 5e-5);
      }
    }
    tf.dispose([ids, targets, grads as Record<string, tf.Tensor>]);
    model.dispose();
  });
});
