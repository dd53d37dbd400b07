import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installIdentity, restoreStockIdentity } from './identity.js';
import { rand, relErr, useWasm } from './kernel-testing.js';

describe('copy-free Identity on wasm', () => {
  beforeAll(useWasm);
  afterAll(restoreStockIdentity);

  it('clones share data, survive the original, and gradients through saved tensors are unchanged', () => {
    const run = () =>
      tf.tidy(() => {
        const x = rand([5, 7], 1);
        return tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.softmax(v), tf.sigmoid(v))))(x);
      });
    restoreStockIdentity();
    const ref = run();
    installIdentity();
    const got = run();
    expect(relErr(got, ref)).toBeLessThan(1e-7);
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    const before = tf.memory().numBytes;
    for (let i = 0; i < 10; i++) run().dispose();
    expect(tf.memory().numBytes).toBe(before);
    tf.dispose([ref, got, b]);
  });
});
