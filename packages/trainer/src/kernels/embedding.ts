import * as tf from '@tensorflow/tfjs-core';
import { grad } from './custom-grad.js';
import { segmentSumRows } from './segment-sum.js';

/**
 * Token embedding lookup: table [vocab, d], ids int32 [...] -> [..., d].
 *
 * tf.gather's gradient is an UnsortedSegmentSum, which tfjs-backend-wasm lacks (training through it throws).
 * Here the table's gradient is a scatter-add of dy rows by token id, on the host (`segmentSumRows`); measured
 * against a one-hot matMul in bench/kernels. When the table is frozen (LoRA), tfjs never asks for it.
 */
export function embedding(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const [vocab, d] = table.shape;
  if (ids.dtype !== 'int32') throw new Error(`embedding: ids must be int32, got ${ids.dtype}`);
  const flat = tf.reshape(ids, [-1]) as tf.Tensor1D;
  const f = tf.customGrad(
    grad((t: tf.Tensor) => ({
      value: tf.reshape(tf.gather(t, flat), [...ids.shape, d]),
      gradFunc: (dy: tf.Tensor) => segmentSumRows(tf.reshape(dy, [-1, d]) as tf.Tensor2D, flat, vocab),
    })),
  );
  // `flat` lives until the backward pass: the enclosing tf.tidy (training step) frees it.
  return f(table);
}

/** Plain-tf reference: tf.gather (its gradient needs UnsortedSegmentSum: use it on the cpu backend). */
export function embeddingReference(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  return tf.gather(table, ids);
}

/** The one-hot alternative: oneHot(ids) · table, gradient by matMul (dense, [vocab x n x d] work). */
export function embeddingOneHot(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const [vocab, d] = table.shape;
  return tf.tidy(() => {
    // (tfjs-backend-wasm 4.22 OneHot writes int bits when asked for float32: cast instead.)
    const oh = tf.cast(tf.oneHot(tf.reshape(ids, [-1]) as tf.Tensor1D, vocab), 'float32');
    return tf.reshape(tf.matMul(oh, table), [...ids.shape, d]);
  });
}
