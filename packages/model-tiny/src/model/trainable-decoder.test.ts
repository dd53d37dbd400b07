import '@tensorflow/tfjs-backend-cpu';
import { ensureGradients, LlamaModel } from '@oppu/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initialWeights } from '../pretrain/init-weights.js';
import { nextTokenLoss } from '../pretrain/pretrain.js';
import { smallConfig } from './fixtures/small-config.js';
import { assignHfTensors, hfTensors } from './hf-export.js';
import { parameterCount, toDecoderConfig } from './llama-config.js';

const config = smallConfig({ vocabSize: 50, maxPositionEmbeddings: 16 });

/** The decoder as pretraining builds it: trainable weights, GPT-2 init from `seed`. */
const trainable = (seed: number) =>
  new LlamaModel(toDecoderConfig(config), initialWeights(config, seed), { trainable: true });

describe("the trainer's decoder in trainable mode, as pretraining uses it", () => {
  beforeAll(async () => {
    await ensureGradients();
    await tf.setBackend('cpu');
  });

  it('is causal: changing later tokens leaves earlier logits unchanged', () => {
    const model = trainable(3);
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

  it('holds as many trainable weights as parameterCount says, the tied head once', () => {
    const model = trainable(1);
    const vars = [...model.namedVariables().values()];
    expect(vars.every((v) => v.trainable)).toBe(true);
    expect(vars.reduce((n, v) => n + v.size, 0)).toBe(parameterCount(config));
    expect(model.numParameters).toBe(parameterCount(config));
    model.dispose();
  });

  it('round-trips its weights through the HF [out, in] layout', () => {
    const a = trainable(1);
    const b = trainable(2);
    const hf = hfTensors(a);
    expect(hf.get('model.layers.0.self_attn.k_proj.weight')!.shape).toEqual([16, 32]); // [kvHeads*hd, d]
    assignHfTensors(b, hf);
    const ids = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
    const la = tf.tidy(() => a.forward(ids).dataSync());
    const lb = tf.tidy(() => b.forward(ids).dataSync());
    expect(Array.from(lb)).toEqual(Array.from(la));
    ids.dispose();
    a.dispose();
    b.dispose();
  });

  it('gives every kind of weight the gradient finite differences give (norm gains, projections, tied embedding)', () => {
    const model = trainable(5);
    const ids = tf.tensor2d([[1, 7, 9, 4, 22, 3]], [1, 6], 'int32');
    const targets = tf.tensor2d([[7, 9, 4, 22, 3, 2]], [1, 6], 'int32');
    const params = model.namedVariables();
    const names = [
      'model.layers.0.input_layernorm.weight',
      'model.norm.weight',
      'model.layers.1.self_attn.q_proj.weight',
      'model.layers.0.mlp.down_proj.weight',
      'model.embed_tokens.weight',
    ];
    const vars = names.map((n) => params.get(n)!);
    // Move the weights off their init so that a wrong gradient formula shows.
    for (const v of vars)
      tf.tidy(() => v.assign(tf.add(v, tf.randomUniform(v.shape, -0.5, 0.5, 'float32', 9))));
    const { grads } = tf.variableGrads(() => nextTokenLoss(model, ids, targets), vars);
    const eps = 1e-2;
    for (const v of vars) {
      const g = grads[v.name]!.dataSync();
      // Coordinates 0, 5, 17, and (for the embedding) a row that is a target but never an input token: 2.
      const coords =
        v.shape.length === 2 && v.shape[0] === 50 ? [7 * 32, 9 * 32 + 5, 2 * 32 + 17] : [0, 5, 17];
      for (const i of coords) {
        const base = v.dataSync().slice();
        const at = (delta: number) => {
          const moved = base.slice();
          moved[i] = moved[i]! + delta;
          tf.tidy(() => v.assign(tf.tensor(moved, v.shape)));
          return tf.tidy(() => nextTokenLoss(model, ids, targets).dataSync()[0]!);
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
        expect(Math.abs(numeric)).toBeGreaterThan(1e-6); // the coordinate matters
        expect(Math.abs(g[i]! - numeric)).toBeLessThan(0.1 * Math.abs(numeric) + 5e-5);
      }
    }
    tf.dispose([ids, targets, grads as Record<string, tf.Tensor>]);
    model.dispose();
  });

  it('is frozen by default: the same weights give the same logits, and no gradient reaches them', () => {
    const weights = initialWeights(config, 4);
    const frozen = new LlamaModel(toDecoderConfig(config), weights);
    const model = new LlamaModel(toDecoderConfig(config), weights, { trainable: true });
    const ids = tf.tensor2d([[1, 7, 9, 4]], [1, 4], 'int32');
    const a = tf.tidy(() => Array.from(frozen.forward(ids).dataSync()));
    const b = tf.tidy(() => Array.from(model.forward(ids).dataSync()));
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 5);
    expect([...frozen.namedVariables().values()].some((v) => v.trainable)).toBe(false);
    tf.dispose([ids]);
    frozen.dispose();
    model.dispose();
  });
});
