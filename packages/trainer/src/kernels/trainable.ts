import * as tf from '@tensorflow/tfjs-core';
import { grad } from './custom-grad.js';

/**
 * The two ops whose weights get a gradient, for training the base model itself (pretraining): the decoder's
 * trainable mode uses them where its frozen mode uses `frozenLinear` and the fused `rmsNorm`'s weight.
 */

/** y = x·W with W [in, out], x [..., in] -> [..., out]; tfjs autograd gives both x and W their gradient. */
export function trainableLinear<R extends tf.Rank>(x: tf.Tensor<R>, w: tf.Tensor2D): tf.Tensor<R> {
  const [inDim, outDim] = w.shape;
  const y = tf.matMul(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, w); // [rows, out]
  return tf.reshape<tf.Rank>(y, [...x.shape.slice(0, -1), outDim]) as tf.Tensor<R>;
}

/**
 * A trainable per-feature gain: x [..., d] * w [d] (an RMSNorm's weight, applied after the fused norm with a
 * unit weight). tfjs's own gradient for w sums dy * x over the rows with a transpose and a reduction (slow on
 * wasm); here it is one matMul, ones [1, rows] x (dy * x) [rows, d], which runs on the fast BatchMatMul.
 */
export function gain<R extends tf.Rank>(x: tf.Tensor<R>, w: tf.Tensor1D): tf.Tensor<R> {
  const d = w.shape[0];
  const rows = x.size / d;
  const f = tf.customGrad(
    grad((xi: tf.Tensor, wi: tf.Tensor1D, save: tf.GradSaveFunc) => {
      save([xi, wi]);
      return {
        value: tf.mul(xi, wi),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, ws] = saved as [tf.Tensor, tf.Tensor1D];
          const dyx = tf.reshape(tf.mul(dy, xs), [rows, d]) as tf.Tensor2D;
          const dw = tf.reshape(tf.matMul(tf.ones([1, rows]) as tf.Tensor2D, dyx), [d]);
          return [tf.mul(dy, ws), dw];
        },
      };
    }),
  );
  return f(x, w) as tf.Tensor<R>;
}
