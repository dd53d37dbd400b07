import * as tf from '@tensorflow/tfjs-core';

/**
 * `torch.nn.utils.clip_grad_norm_`: the global L2 norm over all gradients; if it exceeds `maxNorm`, every
 * gradient is scaled by maxNorm / (norm + 1e-6). Returns new tensors (the inputs are not disposed) and the
 * norm before clipping.
 */
export function clipGradNorm(
  grads: readonly tf.Tensor[],
  maxNorm: number,
): { grads: tf.Tensor[]; norm: number } {
  const normT = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))));
  const norm = (normT.dataSync() as Float32Array)[0] as number;
  normT.dispose();
  const coef = maxNorm / (norm + 1e-6);
  if (!(maxNorm > 0) || coef >= 1) return { grads: grads.map((g) => tf.clone(g)), norm };
  return { grads: grads.map((g) => tf.mul(g, coef)), norm };
}
