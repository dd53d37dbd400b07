import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  causalSoftmax,
  causalSoftmaxReference,
  rmsNorm,
  rmsNormReference,
  rope,
  ropeReference,
  swiglu,
  swigluReference,
} from './fused-ops.js';
import { finiteDifferences, rand, relErr, useWasm } from './kernel-testing.js';
import { nativeKernels } from './native.js';

/** Value and gradient of f against its reference, plus finite differences, for each input. */
function check(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  ref: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
) {
  const probe = rand(f(...inputs).shape, 99);
  const loss =
    (g: typeof f) =>
    (...xs: tf.Tensor[]) =>
      tf.sum(tf.mul(g(...xs), probe)) as tf.Scalar;
  expect(relErr(f(...inputs), ref(...inputs))).toBeLessThan(1e-5);
  const got = tf.grads(loss(f))(inputs);
  const want = tf.grads(loss(ref))(inputs);
  for (const [i, g] of got.entries()) {
    expect(relErr(g, want[i]!), `input ${i}`).toBeLessThan(1e-5);
    const fd = finiteDifferences((v) => loss(f)(...inputs.map((x, j) => (j === i ? v : x))), inputs[i]!, g, [
      0,
      5,
      inputs[i]!.size - 1,
    ]);
    for (const [an, nu] of fd) expect(Math.abs(an - nu)).toBeLessThan(2e-3 * Math.max(1, Math.abs(nu)));
  }
}

const native = nativeKernels();
// Each instruction set the CPU runs (the row kernels follow the GEMM's: AVX-512, AVX2+FMA, portable C++).
const isas = native ? ['avx512', 'avx2', 'generic'].filter((isa) => native.setIsa(isa)) : [];
native?.setIsa('best');

for (const isa of isas)
  describe(`fused element-wise kernels (native ${isa} on wasm)`, () => {
    beforeAll(async () => {
      await useWasm();
      native!.setIsa(isa);
    });
    afterAll(() => {
      native!.setIsa('best');
    });

    it('rmsNorm matches plain tf in value and dx', () => {
      const w = tf.add(rand([24], 2), 1.5) as tf.Tensor1D;
      check(
        (x) => rmsNorm(x!, w, 1e-5),
        (x) => rmsNormReference(x!, w, 1e-5),
        [rand([3, 5, 24], 1)],
      );
      const w37 = tf.add(rand([37], 12), 1.5) as tf.Tensor1D;
      check(
        (x) => rmsNorm(x!, w37, 1e-5),
        (x) => rmsNormReference(x!, w37, 1e-5),
        [rand([70, 37], 13)],
      );
    });

    it('swiglu matches plain tf in value and both gradients', () => {
      check(
        (a, b) => swiglu(a!, b!),
        (a, b) => swigluReference(a!, b!),
        [tf.mul(rand([4, 33], 3), 4), rand([4, 33], 4)],
      );
      // past exp's range on both sides (silu(-100) = 0, silu(100) = 100), and enough elements for two threads
      const a = tf.concat([tf.tensor1d([-100, -90, -88, 88, 90, 100]), tf.mul(rand([40000], 14), 6)]);
      check(
        (a, b) => swiglu(a!, b!),
        (a, b) => swigluReference(a!, b!),
        [a, rand([40006], 15)],
      );
    });

    for (const style of ['half', 'interleaved'] as const) {
      it(`rope (${style}) matches plain tf in value and dx`, () => {
        const ang = tf.mul(rand([6, 4], 5), 3);
        const [cos, sin] = [tf.cos(ang), tf.sin(ang)];
        check(
          (x) => rope(x as tf.Tensor3D, cos, sin, style),
          (x) => ropeReference(x as tf.Tensor3D, cos, sin, style),
          [rand([6, 3, 8], 6)],
        );
      });
    }

    it('causalSoftmax matches plain tf (scale, -1e9 mask, softmax) in value and gradient', () => {
      check(
        (x) => causalSoftmax(x!, 0.7),
        (x) => causalSoftmaxReference(x!, 0.7),
        [tf.mul(rand([2, 3, 5, 5], 7), 3)],
      );
      check(
        (x) => causalSoftmax(x!, 0.125),
        (x) => causalSoftmaxReference(x!, 0.125),
        [tf.mul(rand([2, 37, 37], 8), 20)],
      );
      const y = causalSoftmax(tf.zeros([1, 3, 3]), 1).arraySync() as number[][][];
      expect(y[0]).toEqual([[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3].map((v) => Math.fround(v))]);
    });

    it('rejects mismatched shapes with a message', () => {
      expect(() => rope(tf.zeros([2, 1, 4]), tf.zeros([2, 3]), tf.zeros([2, 2]), 'half')).toThrow(
        /cos and sin of 2 x 2/,
      );
      expect(() => swiglu(tf.zeros([2]), tf.zeros([3]))).toThrow(/differ/);
    });
  });
