import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finiteDifferences, rand, relErr, useWasm } from './kernel-testing.js';
import { loraLinear, loraLinearReference } from './lora-linear.js';
import { installMatMul, restoreStockMatMul } from './mat-mul.js';

describe('loraLinear (fused x·W + s·(x·A)·B)', () => {
  beforeAll(useWasm);
  afterAll(restoreStockMatMul);

  for (const native of [true, false]) {
    it(`matches plain tf in value and in the gradients of x, A and B (${native ? 'native' : 'wasm'} matMul)`, () => {
      installMatMul({ native });
      const x = rand([2, 7, 32], 1);
      const w = rand([32, 48], 2);
      const a = rand([32, 4], 3);
      const b = rand([4, 48], 4);
      const probe = rand([2, 7, 48], 5);
      const s = 16 / 4;
      type Lin = typeof loraLinear;
      const loss = (lin: Lin) => (xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(
          tf.mul(lin(xi as tf.Tensor3D, w, ai as tf.Tensor2D, bi as tf.Tensor2D, s), probe),
        ) as tf.Scalar;
      expect(relErr(loraLinear(x, w, a, b, s), loraLinearReference(x, w, a, b, s))).toBeLessThan(1e-5);
      const got = tf.grads(loss(loraLinear))([x, a, b]);
      const ref = tf.grads(loss(loraLinearReference))([x, a, b]);
      for (const [i, g] of got.entries()) expect(relErr(g, ref[i]!), `input ${i}`).toBeLessThan(1e-5);
      const fds = [
        finiteDifferences((v) => loss(loraLinear)(v, a, b), x, got[0]!, [0, 50, 447]),
        finiteDifferences((v) => loss(loraLinear)(x, v, b), a, got[1]!, [0, 9, 127]),
        finiteDifferences((v) => loss(loraLinear)(x, a, v), b, got[2]!, [0, 100, 191]),
      ];
      for (const [an, nu] of fds.flat())
        expect(Math.abs(an - nu)).toBeLessThan(2e-3 * Math.max(1, Math.abs(nu)));
      tf.dispose([x, w, a, b, probe, ...got, ...ref]);
    });
  }

  it('rejects mismatched shapes with a message naming them', () => {
    const x = tf.zeros([1, 2, 8]);
    expect(() => loraLinear(x, tf.zeros([8, 6]), tf.zeros([8, 2]), tf.zeros([3, 6]), 1)).toThrow(/B \[3,6\]/);
  });
});
