import type * as tf from '@tensorflow/tfjs-core';

type Result = { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] };

/**
 * Types a tf.customGrad body by its actual parameters (tensors, then the save function) instead of tfjs's
 * `(...args: Array<Tensor | GradSaveFunc>)`.
 */
export function grad(f: (...args: never[]) => Result): Parameters<typeof tf.customGrad>[0] {
  return f as unknown as Parameters<typeof tf.customGrad>[0];
}
