import * as tf from '@tensorflow/tfjs-core';

/**
 * Summed next-token cross-entropy over the positions where `mask` is 1 (the answer tokens), as HF causal LM
 * loss with labels = -100 on prompt and padding, but summed: the caller divides by the number of answer
 * tokens in the whole (accumulated) batch.
 *
 * logits [batch, seq, vocab], targets [batch, seq] (the token that follows each position), mask [batch, seq].
 */
export function maskedCrossEntropySum(
  logits: tf.Tensor3D,
  targets: tf.Tensor2D,
  mask: tf.Tensor2D,
): tf.Scalar {
  return tf.tidy(() => {
    const vocab = logits.shape[2];
    const logp = tf.logSoftmax(tf.reshape(logits, [-1, vocab])); // [batch*seq, vocab]
    const onehot = tf.oneHot(tf.reshape(targets, [-1]) as tf.Tensor1D, vocab); // [batch*seq, vocab]
    const tokenLogp = tf.sum(tf.mul(logp, onehot), 1); // [batch*seq]
    return tf.neg(tf.sum(tf.mul(tokenLogp, tf.reshape(mask, [-1])))) as tf.Scalar;
  });
}
