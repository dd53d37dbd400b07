import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearFrozenLinearCache, frozenLinear, frozenLinearReference } from './frozen-linear.js';
import { finiteDifferences, rand, relErr, useWasm } from './kernel-testing.js';
import { installMatMul, restoreStockMatMul } from './mat-mul.js';

describe('frozenLinear', () => {
  beforeAll(useWasm);
  afterAll(() => {
    clearFrozenLinearCache();
    restoreStockMatMul();
  });

  for (const native of [true, false]) {
    it(`matches plain tf in value and in dx, and gives W no gradient (${native ? 'native' : 'wasm'} matMul)`, () => {
      installMatMul({ native });
      const x = rand([3, 5, 24], 1);
      const w = rand([24, 40], 2);
      const probe = rand([3, 5, 40], 3);
      const loss = (lin: typeof frozenLinear) => (xi: tf.Tensor) =>
        tf.sum(tf.mul(lin(xi as tf.Tensor3D, w), probe));
      const y = frozenLinear(x, w);
      const yRef = frozenLinearReference(x, w);
      expect(y.shape).toEqual([3, 5, 40]);
      expect(relErr(y, yRef)).toBeLessThan(1e-5);
      const dx = tf.grad(loss(frozenLinear))(x);
      const dxRef = tf.grad(loss(frozenLinearReference))(x);
      expect(relErr(dx, dxRef)).toBeLessThan(1e-5);
      for (const [an, nu] of finiteDifferences(loss(frozenLinear) as never, x, dx, [0, 17, 100, 359])) {
        expect(Math.abs(an - nu)).toBeLessThan(2e-3 * Math.max(1, Math.abs(nu)));
      }
      // W is not an input of the custom gradient: asking for it yields no gradient.
      const xv = tf.variable(x, true, `fl-x-${native}`);
      const wv = tf.variable(w, true, `fl-w-${native}`);
      const { grads } = tf.variableGrads(
        () => tf.sum(frozenLinear(xv, wv as tf.Variable<tf.Rank.R2>)) as tf.Scalar,
        [xv, wv],
      );
      expect(Object.keys(grads)).toEqual([`fl-x-${native}`]);
      tf.dispose([xv, wv, ...Object.values(grads)]);
      tf.dispose([x, w, probe, y, yRef, dx, dxRef]);
    });
  }

  it('does not leak tensors across repeated training steps (cached W^T included)', () => {
    installMatMul({ native: false });
    const w = rand([16, 8], 4);
    const x = tf.variable(rand([4, 16], 5));
    const step = () =>
      tf.tidy(() =>
        tf.dispose(Object.values(tf.variableGrads(() => tf.sum(frozenLinear(x, w)) as tf.Scalar, [x]).grads)),
      );
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    w.dispose();
    x.dispose();
    clearFrozenLinearCache();
  });
});
