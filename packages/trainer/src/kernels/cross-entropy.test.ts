import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  softmaxCrossEntropy,
  softmaxCrossEntropyBlocks,
  softmaxCrossEntropyReference,
} from './cross-entropy.js';
import { finiteDifferences, rand, relErr, useWasm } from './kernel-testing.js';
import { nativeKernels } from './native.js';

const native = nativeKernels();
// With the addon: each instruction set the CPU runs; without it: the wasm/tf path once.
const isas = native ? ['avx512', 'avx2', 'generic'].filter((isa) => native.setIsa(isa)) : ['none'];
native?.setIsa('best');

for (const isa of isas)
  describe(`softmaxCrossEntropy (native: ${isa})`, () => {
    beforeAll(async () => {
      await useWasm();
      native?.setIsa(isa);
    });
    afterAll(() => {
      native?.setIsa('best');
    });
    const targets = [3, 0, 7, 7, 1, 2];

    for (const weighted of [false, true]) {
      it(`matches the plain-tf reference in loss and gradient (${weighted ? 'masked rows' : 'all rows'})`, () => {
        const logits = tf.mul(rand([6, 9], 1), 4) as tf.Tensor2D;
        const t = tf.tensor1d(targets, 'int32');
        const w = weighted ? tf.tensor1d([1, 0, 1, 0.5, 0, 1]) : undefined;
        const f = (ce: typeof softmaxCrossEntropy) => (l: tf.Tensor) =>
          tf.mul(ce(l as tf.Tensor2D, t, w), 3) as tf.Scalar;
        expect(relErr(f(softmaxCrossEntropy)(logits), f(softmaxCrossEntropyReference)(logits))).toBeLessThan(
          1e-5,
        );
        const g = tf.grad(f(softmaxCrossEntropy))(logits);
        const gRef = tf.grad(f(softmaxCrossEntropyReference))(logits);
        expect(relErr(g, gRef)).toBeLessThan(1e-5);
        for (const [an, nu] of finiteDifferences(
          f(softmaxCrossEntropy),
          logits,
          g,
          [0, 3, 12, 30, 53],
          1e-2,
        )) {
          expect(Math.abs(an - nu)).toBeLessThan(2e-3 * Math.max(1, Math.abs(nu)));
        }
      });
    }

    it('matches the reference on rows wider than one vector, with a ragged tail', () => {
      const logits = tf.mul(rand([40, 37], 2), 8) as tf.Tensor2D;
      const t = tf.tensor1d(
        Array.from({ length: 40 }, (_, i) => (i * 7) % 37),
        'int32',
      );
      const f = (ce: typeof softmaxCrossEntropy) => (l: tf.Tensor) => ce(l as tf.Tensor2D, t) as tf.Scalar;
      expect(relErr(f(softmaxCrossEntropy)(logits), f(softmaxCrossEntropyReference)(logits))).toBeLessThan(
        1e-5,
      );
      expect(
        relErr(tf.grad(f(softmaxCrossEntropy))(logits), tf.grad(f(softmaxCrossEntropyReference))(logits)),
      ).toBeLessThan(1e-5);
    });

    it.skipIf(!nativeKernels())('names the row whose target is outside the vocabulary', () => {
      expect(() => softmaxCrossEntropy(tf.zeros([2, 4]), tf.tensor1d([1, 4], 'int32'))).toThrow(
        /row 1 .*outside \[0, 4\)/,
      );
    });

    it('is stable for large logits', () => {
      const l = tf.tensor2d([[1000, 0, -1000]]);
      expect(softmaxCrossEntropy(l, tf.tensor1d([0], 'int32')).dataSync()[0]).toBeCloseTo(0, 5);
      expect(softmaxCrossEntropy(l, tf.tensor1d([1], 'int32')).dataSync()[0]).toBeCloseTo(1000, 2);
    });

    it('softmaxCrossEntropyBlocks: each block bitwise as softmaxCrossEntropy on its rows alone', () => {
      const rows = [5, 1, 8];
      const logits = tf.mul(rand([14, 37], 3), 6) as tf.Tensor2D;
      const t = tf.tensor1d(
        Array.from({ length: 14 }, (_, i) => (i * 5) % 37),
        'int32',
      );
      const w = tf.tensor1d([1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1, 0, 1]);
      const up = tf.tensor1d([0.5, 3, -2]); // each block's upstream gradient
      const blocks = (l: tf.Tensor) =>
        tf.sum(tf.mul(softmaxCrossEntropyBlocks(l as tf.Tensor2D, t, w, rows), up)) as tf.Scalar;
      const value = softmaxCrossEntropyBlocks(logits, t, w, rows).dataSync();
      const g = tf.grad(blocks)(logits).dataSync();
      let start = 0;
      rows.forEach((r, s) => {
        const part = (x: tf.Tensor) => tf.slice(x, [start], [r]) as tf.Tensor1D;
        const alone = (l: tf.Tensor) =>
          tf.mul(
            softmaxCrossEntropy(l as tf.Tensor2D, part(t), part(w)),
            up.dataSync()[s] as number,
          ) as tf.Scalar;
        const mine = tf.slice(logits, [start, 0], [r, -1]);
        expect(value[s], `block ${s}`).toBe(
          softmaxCrossEntropy(mine as tf.Tensor2D, part(t), part(w)).dataSync()[0],
        );
        const gAlone = tf.grad(alone)(mine).dataSync();
        expect(Array.from(g.subarray(start * 37, (start + r) * 37)), `block ${s} gradient`).toEqual(
          Array.from(gAlone),
        );
        start += r;
      });
      expect(() => softmaxCrossEntropyBlocks(logits, t, w, [5, 5])).toThrow(
        /blocks of \[5,5\] rows do not cut the 14 rows/,
      );
    });
  });
