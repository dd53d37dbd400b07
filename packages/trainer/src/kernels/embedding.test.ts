import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { embedding, embeddingOneHot, embeddingReference } from './embedding.js';
import { finiteDifferences, rand, relErr, useWasm } from './kernel-testing.js';
import { segmentSumRows } from './segment-sum.js';

describe('embedding (gather with a scatter-add gradient)', () => {
  beforeAll(useWasm);
  const ids = [
    [3, 1, 3, 0],
    [9, 3, 1, 1],
  ]; // repeated ids: their gradient rows must add up

  it('matches tf.gather in value, and its gradient matches the cpu backend (wasm lacks UnsortedSegmentSum)', async () => {
    const tableData = rand([10, 6], 1).dataSync();
    const probeData = rand([2, 4, 6], 2).dataSync();
    const run = (lookup: typeof embedding) => {
      const table = tf.tensor2d(tableData, [10, 6]);
      const idt = tf.tensor2d(ids, [2, 4], 'int32');
      const probe = tf.tensor(probeData, [2, 4, 6]);
      const value = lookup(table, idt).dataSync().slice();
      const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(lookup(t as tf.Tensor2D, idt), probe)))(table);
      return { value, grad: grad.dataSync().slice() };
    };
    const got = run(embedding);
    const oneHot = run(embeddingOneHot);
    await tf.setBackend('cpu');
    const ref = run(embeddingReference);
    await useWasm();
    expect(relErr(got.value, ref.value)).toBeLessThan(1e-6);
    expect(relErr(got.grad, ref.grad)).toBeLessThan(1e-6);
    expect(relErr(oneHot.grad, ref.grad)).toBeLessThan(1e-6);
    // Row 3 appears three times, row 2 never.
    expect(got.grad.slice(12, 18).every((v) => v === 0)).toBe(true);
    expect(() =>
      tf.grad((t: tf.Tensor) => tf.sum(embeddingReference(t as tf.Tensor2D, tf.tensor1d([1], 'int32'))))(
        tf.zeros([2, 2]),
      ),
    ).toThrow(/UnsortedSegmentSum/);
  });

  it('gradient agrees with finite differences', () => {
    const table = rand([10, 6], 3);
    const idt = tf.tensor2d(ids, [2, 4], 'int32');
    const probe = rand([2, 4, 6], 4);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(embedding(t as tf.Tensor2D, idt), probe)) as tf.Scalar;
    const g = tf.grad(f)(table);
    for (const [an, nu] of finiteDifferences(f, table, g, [0, 18, 19, 55, 59])) {
      expect(Math.abs(an - nu)).toBeLessThan(2e-3 * Math.max(1, Math.abs(nu)));
    }
  });

  it('rejects float ids and out-of-range ids in the gradient with the row number', () => {
    expect(() => embedding(tf.zeros([4, 2]), tf.tensor1d([1]))).toThrow(/int32/);
    expect(() => embedding(tf.zeros([4, 2]), tf.tensor1d([1, 4], 'int32'))).toThrow(
      /token id 4 at position 1/,
    );
    expect(() => segmentSumRows(tf.zeros([2, 3]), tf.tensor1d([1, 7], 'int32'), 4)).toThrow(
      /row 1 has segment id 7/,
    );
  });
});
