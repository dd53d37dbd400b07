import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relErr, useWasm } from './kernel-testing.js';
import { installMatMul, matMulMode, restoreStockMatMul } from './mat-mul.js';
import { nativeKernels } from './native.js';

// [aShape, bShape, transposeA, transposeB]: every layout the decoder and its gradients use.
const cases: Array<[number[], number[], boolean, boolean]> = [
  [[37, 19], [19, 23], false, false],
  [[19, 37], [19, 23], true, false],
  [[37, 19], [23, 19], false, true],
  [[19, 37], [23, 19], true, true],
  [[3, 17, 9], [3, 9, 33], false, false], // batched (attention scores)
  [[2, 3, 9, 17], [2, 3, 33, 9], true, true],
  [[4, 17, 9], [9, 5], false, false], // weight broadcast over the batch
  [[4, 9, 17], [9, 5], true, false],
  [[9, 5], [4, 9, 17], true, false], // A broadcast
  [[2, 65, 40], [2, 40, 70], false, false], // crosses the micro-tile edges
  [[1, 1], [1, 1], false, false],
];

function runAll(): tf.Tensor[] {
  return cases.map(([as, bs, ta, tb], i) =>
    tf.tidy(() => {
      const a = tf.randomUniform(as, -1, 1, 'float32', 10 + i);
      const b = tf.randomUniform(bs, -1, 1, 'float32', 50 + i);
      return tf.matMul(a, b, ta, tb);
    }),
  );
}

describe('BatchMatMul override on wasm', () => {
  let reference: tf.Tensor[];
  beforeAll(async () => {
    await useWasm();
    restoreStockMatMul();
    reference = runAll(); // the stock tfjs-backend-wasm kernel
  });
  afterAll(() => {
    tf.dispose(reference);
    restoreStockMatMul();
  });

  for (const native of [true, false]) {
    it(`${native ? 'native' : 'wasm (XNNPACK per batch)'} kernel matches the stock kernel on every layout`, (ctx) => {
      if (native && !nativeKernels()) ctx.skip();
      expect(installMatMul({ native })).toBe(native ? 'native' : 'wasm');
      const before = tf.memory().numTensors;
      const got = runAll();
      got.forEach((t, i) => {
        expect(t.shape, `case ${i}`).toEqual(reference[i]!.shape);
        expect(relErr(t, reference[i]!), `case ${i}: ${JSON.stringify(cases[i])}`).toBeLessThan(1e-5);
      });
      tf.dispose(got);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('gradients of a matMul agree with the stock kernel', () => {
    const grads = () =>
      tf.tidy(() => {
        const a = tf.randomUniform([2, 12, 8], -1, 1, 'float32', 1);
        const b = tf.randomUniform([2, 8, 10], -1, 1, 'float32', 2);
        const w = tf.randomUniform([2, 12, 10], -1, 1, 'float32', 3);
        return tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), w)))([a, b]);
      });
    restoreStockMatMul();
    const ref = grads();
    installMatMul();
    const got = grads();
    expect(matMulMode()).not.toBe('stock');
    expect(relErr(got[0]!, ref[0]!)).toBeLessThan(1e-5);
    expect(relErr(got[1]!, ref[1]!)).toBeLessThan(1e-5);
    tf.dispose([...ref, ...got]);
  });

  it('survives wasm memory growth between calls (re-reads the heap every call)', () => {
    installMatMul();
    const a = tf.randomUniform([64, 64], -1, 1, 'float32', 7);
    const big = tf.zeros([(64 * 1024 * 1024) / 4]); // 64 MiB: grows the wasm heap
    const b = tf.randomUniform([64, 64], -1, 1, 'float32', 8);
    const got = tf.matMul(a, b);
    restoreStockMatMul();
    const ref = tf.matMul(a, b);
    expect(relErr(got, ref)).toBeLessThan(1e-5);
    tf.dispose([a, big, b, got, ref]);
  });
});
