import * as tf from '@tensorflow/tfjs-core';
import { softmaxCrossEntropy } from '../kernels/cross-entropy.js';

/**
 * Summed next-token cross-entropy over the positions where `mask` is non-zero (weighted by it), as HF causal
 * LM loss with labels = -100 on prompt and padding, but summed: the caller divides by the number of answer
 * tokens in the whole (accumulated) batch. `maskSum` is the sum of `mask` (known on the host).
 *
 * logits [batch, seq, vocab], targets [batch, seq] (the token that follows each position), mask [batch, seq].
 * Uses the kernels' one-pass `softmaxCrossEntropy` (weighted mean) times `maskSum`.
 */
export function maskedCrossEntropySum(
  logits: tf.Tensor3D,
  targets: tf.Tensor2D,
  mask: tf.Tensor2D,
  maskSum: number,
): tf.Scalar {
  return tf.tidy(() => {
    const vocab = logits.shape[2];
    const mean = softmaxCrossEntropy(
      tf.reshape(logits, [-1, vocab]) as tf.Tensor2D,
      tf.reshape(targets, [-1]) as tf.Tensor1D,
      tf.reshape(mask, [-1]) as tf.Tensor1D,
    );
    return tf.mul(mean, maskSum) as tf.Scalar;
  });
}

/**
 * Per-row masked cross-entropy sums [batch] in plain tf ops (logSoftmax and a one-hot): the reference for
 * `maskedCrossEntropySum` (their sum), and per-row losses for reporting.
 */
export function maskedCrossEntropyRows(
  logits: tf.Tensor3D,
  targets: tf.Tensor2D,
  mask: tf.Tensor2D,
): tf.Tensor1D {
  return tf.tidy(() => {
    const [batch, seq, vocab] = logits.shape;
    const logp = tf.logSoftmax(tf.reshape(logits, [-1, vocab])); // [batch*seq, vocab]
    // (cast: tfjs-backend-wasm 4.22's float32 OneHot writes int bit patterns)
    const onehot = tf.cast(tf.oneHot(tf.reshape(targets, [-1]) as tf.Tensor1D, vocab), 'float32');
    const tokenLogp = tf.sum(tf.mul(logp, onehot), 1); // [batch*seq]
    return tf.neg(
      tf.sum(tf.reshape(tf.mul(tokenLogp, tf.reshape(mask, [-1])), [batch, seq]), 1),
    ) as tf.Tensor1D;
  });
}
