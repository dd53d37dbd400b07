import * as tf from '@tensorflow/tfjs-core';
import { grad } from '../kernels/custom-grad.js';
import { registerWebgpuKernels } from './register-kernels.js';
import { assertWebgpu } from './webgpu-program.js';

/**
 * The set-up every WGSL op of oppu shares (bgmv, sgmv, loraLinearWebgpu): the webgpu backend is checked (`op`
 * names the caller in the error), the kernels are registered, and the op runs under tf.customGrad, so it is
 * differentiable with respect to x and the two adapter weights a, b. `forward` gives the value and the tensors the
 * backward pass reads (kept by tf.customGrad); `gradient` gives the gradients of (x, a, b) from the output's
 * gradient `dy` and those tensors, in the order they were saved.
 */
export function webgpuOp<Saved extends tf.Tensor[] | []>(
  op: string,
  forward: (x: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => { value: tf.Tensor; saved: Saved },
  gradient: (dy: tf.Tensor, saved: Saved) => [tf.Tensor, tf.Tensor, tf.Tensor],
): (x: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor {
  assertWebgpu(op);
  registerWebgpuKernels();
  const f = tf.customGrad(
    grad((x: tf.Tensor, a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
      const { value, saved } = forward(x, a, b);
      save(saved);
      return { value, gradFunc: (dy: tf.Tensor, kept: tf.Tensor[]) => gradient(dy, kept as Saved) };
    }),
  );
  return (x, a, b) => f(x, a, b) as tf.Tensor;
}
