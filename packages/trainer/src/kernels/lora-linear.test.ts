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

  for (const native of [true, false]) {
    it(`with a separate LoRA-branch input (dropout), matches plain tf in value and in every gradient (${native ? 'native' : 'wasm'} matMul)`, () => {
      installMatMul({ native });
      const x = rand([2, 7, 32], 11);
      const w = rand([32, 48], 12);
      const a = rand([32, 4], 13);
      const b = rand([4, 48], 14);
      const probe = rand([2, 7, 48], 15);
      const s = 2;
      // The branch's input is a function of x (as dropout is): gradients must reach x through both paths.
      const mask = tf.cast(tf.greater(rand([2, 7, 32], 16), 0), 'float32');
      type Lin = typeof loraLinear;
      const loss = (lin: Lin) => (xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor) => {
        const xl = tf.mul(xi, tf.mul(mask, 1 / 0.9)) as tf.Tensor3D;
        return tf.sum(
          tf.mul(lin(xi as tf.Tensor3D, w, ai as tf.Tensor2D, bi as tf.Tensor2D, s, xl), probe),
        ) as tf.Scalar;
      };
      const xl = tf.mul(x, mask) as tf.Tensor3D;
      expect(relErr(loraLinear(x, w, a, b, s, xl), loraLinearReference(x, w, a, b, s, xl))).toBeLessThan(
        1e-5,
      );
      // The branch really reads xLora: a different xLora changes y.
      expect(relErr(loraLinear(x, w, a, b, s, xl), loraLinear(x, w, a, b, s))).toBeGreaterThan(1e-3);
      const got = tf.grads(loss(loraLinear))([x, a, b]);
      const ref = tf.grads(loss(loraLinearReference))([x, a, b]);
      for (const [i, g] of got.entries()) expect(relErr(g, ref[i]!), `input ${i}`).toBeLessThan(1e-5);
      const fd = finiteDifferences((v) => loss(loraLinear)(v, a, b), x, got[0]!, [0, 50, 447]);
      for (const [an, nu] of fd) expect(Math.abs(an - nu)).toBeLessThan(2e-3 * Math.max(1, Math.abs(nu)));
      tf.dispose([x, w, a, b, probe, mask, xl, ...got, ...ref]);
    });
  }

  for (const native of [true, false]) {
    it(`with inputGrad: false, gives the same A and B gradients and treats x as a constant (${native ? 'native' : 'wasm'} matMul)`, () => {
      installMatMul({ native });
      const x = rand([2, 7, 32], 21);
      const w = rand([32, 48], 22);
      const a = rand([32, 4], 23);
      const b = rand([4, 48], 24);
      const probe = rand([2, 7, 48], 25);
      const xl = tf.mul(x, tf.cast(tf.greater(rand([2, 7, 32], 26), 0), 'float32')) as tf.Tensor3D;
      for (const branch of [undefined, xl]) {
        const loss = (inputGrad: boolean) => (ai: tf.Tensor, bi: tf.Tensor) =>
          tf.sum(
            tf.mul(loraLinear(x, w, ai as tf.Tensor2D, bi as tf.Tensor2D, 2, branch, { inputGrad }), probe),
          ) as tf.Scalar;
        expect(relErr(loss(false)(a, b), loss(true)(a, b))).toBe(0);
        const got = tf.grads(loss(false))([a, b]);
        const want = tf.grads(loss(true))([a, b]);
        for (const [i, g] of got.entries()) expect(relErr(g, want[i]!), `input ${i}`).toBeLessThan(1e-6);
        tf.dispose([...got, ...want]);
      }
      // x is not an input of the op: tfjs finds no path from x to the output.
      expect(() =>
        tf.grad((xi: tf.Tensor) =>
          tf.sum(loraLinear(xi as tf.Tensor3D, w, a, b, 2, undefined, { inputGrad: false })),
        )(x),
      ).toThrow(/Cannot compute gradient/);
      tf.dispose([x, w, a, b, probe, xl]);
    });
  }

  it('rejects mismatched shapes with a message naming them', () => {
    const x = tf.zeros([1, 2, 8]);
    expect(() => loraLinear(x, tf.zeros([8, 6]), tf.zeros([8, 2]), tf.zeros([3, 6]), 1)).toThrow(/B \[3,6\]/);
  });
});
