import '@tensorflow/tfjs-backend-cpu';
import { DEFAULT_IA3 } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, TINY_DIMS, VariableBaseWeights } from '../test-helpers.js';
import { Ia3Model } from './model.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('IA3', () => {
  const base = new VariableBaseWeights(TINY_DIMS, 2);
  afterAll(() => base.dispose());

  it('starts as the identity and rescales k/v outputs and the down_proj input', () => {
    const ia3 = new Ia3Model(DEFAULT_IA3, TINY_DIMS);
    const k = { layer: 1, module: 'k_proj' } as const;
    const d = { layer: 0, module: 'down_proj' } as const;
    const xk = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 1) as tf.Tensor3D;
    const xd = tf.randomNormal([2, 3, 12], 0, 1, 'float32', 2) as tf.Tensor3D;
    const ad = ia3.asLinearAdapter();
    expect([...ad.linear(k, xk, base.base(k)).dataSync()]).toEqual([...base.base(k)(xk).dataSync()]);
    expect(ia3.vector(1, 'k_proj')?.shape).toEqual([4]);
    expect(ia3.vector(0, 'down_proj')?.shape).toEqual([12]);
    const lk = tf.tensor1d([2, -1, 0.5, 3]);
    ia3.vector(1, 'k_proj')?.assign(lk);
    const want = tf.mul(base.base(k)(xk), lk);
    expect(maxAbsDiff(ad.linear(k, xk, base.base(k)).dataSync(), want.dataSync())).toBeLessThan(1e-6);
    const ld = tf.linspace(0.5, 2, 12) as tf.Tensor1D;
    ia3.vector(0, 'down_proj')?.assign(ld);
    const wantD = base.base(d)(tf.mul(xd, ld) as tf.Tensor3D);
    expect(maxAbsDiff(ad.linear(d, xd, base.base(d)).dataSync(), wantD.dataSync())).toBeLessThan(1e-5);
    const q = { layer: 0, module: 'q_proj' } as const;
    expect([...ad.linear(q, xk, base.base(q)).dataSync()]).toEqual([...base.base(q)(xk).dataSync()]);
    expect(ia3.numParameters()).toBe(2 * (4 + 4 + 12));
    tf.dispose([xk, xd, lk, want, ld, wantD]);
    ia3.dispose();
  });

  it('saves PEFT names and shapes ([out, 1], feed-forward [1, in]) and loads them back', () => {
    const ia3 = new Ia3Model(DEFAULT_IA3, TINY_DIMS);
    for (const v of ia3.trainableVariables()) v.assign(tf.randomUniform(v.shape, 0, 2, 'float32', v.size));
    const w = ia3.toWeights();
    expect(w.config.peft_type).toBe('IA3');
    expect(w.tensors.get('base_model.model.model.layers.0.self_attn.v_proj.ia3_l')?.shape).toEqual([4, 1]);
    expect(w.tensors.get('base_model.model.model.layers.1.mlp.down_proj.ia3_l')?.shape).toEqual([1, 12]);
    expect(w.tensors.size).toBe(6);
    const back = Ia3Model.fromWeights(w, TINY_DIMS);
    for (const [a, b] of ia3.trainableVariables().map((v, i) => [v, back.trainableVariables()[i]] as const))
      expect([...(b?.dataSync() ?? [])]).toEqual([...a.dataSync()]);
    expect(() => Ia3Model.fromWeights(w, { ...TINY_DIMS, intermediateSize: 16 })).toThrow(
      /mlp.down_proj.ia3_l" has shape \[1, 12\], this model needs \[1, 16\]/,
    );
    expect(
      () =>
        new Ia3Model(
          { method: 'ia3', targetModules: ['k_proj'], feedforwardModules: ['down_proj'] },
          TINY_DIMS,
        ),
    ).toThrow(/"down_proj" is not in targetModules/);
    back.dispose();
    ia3.dispose();
  });
});
