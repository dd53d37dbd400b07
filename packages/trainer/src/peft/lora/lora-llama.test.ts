import '@tensorflow/tfjs-backend-cpu';
import { OPPU_LORA } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LlamaConfig, LlamaModel, randomLlamaArrays } from '../../model/llama.js';
import { maxAbsDiff } from '../test-helpers.js';
import { addWeightedAdapter } from './combine.js';
import { LoraModel } from './model.js';
import { MultiLora } from './multi.js';

const TINY: LlamaConfig = {
  dim: 16,
  hidden: 24,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  vocab: 12,
  maxSeqLen: 32,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'half',
  tiedEmbeddings: true,
};

describe('LoRA on the Llama decoder', () => {
  let model: LlamaModel;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = new LlamaModel(TINY, randomLlamaArrays(TINY, 3));
  });
  afterAll(() => model.dispose());

  const trained = (seed: number) => {
    const l = new LoraModel(
      { ...OPPU_LORA, r: 4, alpha: 16, targetModules: ['q_proj', 'v_proj', 'down_proj'] },
      model.dims,
      {
        seed,
      },
    );
    for (const p of l.allPairs()) p.b.assign(tf.randomNormal(p.b.shape, 0, 0.5, 'float32', seed + p.layer));
    return l;
  };
  const logits = (adapter?: LoraModel | MultiLora, rows?: number[]) => {
    const ids = tf.tensor2d(
      [
        [1, 5, 7, 2],
        [3, 3, 9, 4],
      ],
      undefined,
      'int32',
    );
    const hooks =
      adapter instanceof MultiLora ? adapter.asLinearAdapter(rows ?? []) : adapter?.asLinearAdapter();
    const out = model.forward(ids, hooks);
    const data = out.dataSync();
    tf.dispose([ids, out]);
    if (hooks && 'dispose' in hooks) hooks.dispose();
    return data;
  };

  it('attaches and detaches without touching the base; merge/unmerge goes through BaseWeights', async () => {
    const base = logits();
    const lora = trained(1);
    const adapted = logits(lora);
    expect(maxAbsDiff(adapted, base)).toBeGreaterThan(1e-3);
    expect([...logits()]).toEqual([...base]); // detached: the base model exactly
    const before = await model.toArrays();
    lora.merge(model);
    expect(maxAbsDiff(logits(), adapted)).toBeLessThan(1e-4); // the base now carries the delta
    expect(maxAbsDiff(logits(lora), adapted)).toBeLessThan(1e-4); // merged: linear passes through
    lora.unmerge(model);
    const after = await model.toArrays();
    for (const [i, layer] of after.layers.entries()) {
      for (const m of ['q_proj', 'v_proj', 'down_proj'] as const)
        expect(maxAbsDiff(layer[m], before.layers[i]?.[m] as Float32Array), `${i}.${m}`).toBeLessThan(1e-6);
    }
    expect(maxAbsDiff(logits(), base)).toBeLessThan(1e-5);
    lora.dispose();
  });

  it('serves two users and the base in one batch, as one by one', () => {
    const a = trained(1);
    const b = trained(2);
    const multi = MultiLora.fromAdapters([a, b]);
    const both = logits(multi, [1, -1]);
    const row = (d: Float32Array, r: number) => d.slice(r * 4 * 12, (r + 1) * 4 * 12);
    expect(maxAbsDiff(row(both, 0), row(logits(b), 0))).toBeLessThan(1e-4);
    expect(maxAbsDiff(row(both, 1), row(logits(), 1))).toBeLessThan(1e-5);
    // a weighted 'cat' combination with weights (1, 0) is adapter a
    const only = addWeightedAdapter([a, b], [1, 0], 'cat');
    expect(maxAbsDiff(logits(only), logits(a))).toBeLessThan(1e-4);
    for (const m of [a, b, multi, only]) m.dispose();
  });
});
