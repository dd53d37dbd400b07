import * as tf from '@tensorflow/tfjs-core';
import { grad } from './custom-grad.js';
import { matMulByTranspose } from './frozen-linear.js';

/**
 * Fused LoRA projection: y = x·W + scale·(x·A)·B, with W [in, out] frozen, A [in, r], B [r, out] trainable,
 * x [..., in] -> [..., out]. (PEFT stores lora_A as [r, in] and lora_B as [out, r]: pass their transposes.)
 *
 * One custom gradient for the whole expression: with g = dy and gB = g·B^T [rows, r],
 *   dx = g·W^T + scale·gB·A^T,  dA = scale·x^T·gB,  dB = scale·(x·A)^T·g,
 * so no weight gradient of W, no [rows, out]-sized intermediate besides y, and every product is a matMul
 * that the native kernel runs in place (x^T and W^T are strides, not copies).
 */
export function loraLinear<R extends tf.Rank>(
  x: tf.Tensor<R>,
  w: tf.Tensor2D,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  scale: number,
): tf.Tensor<R> {
  const [inDim, outDim] = w.shape;
  const r = a.shape[1];
  if (a.shape[0] !== inDim || b.shape[0] !== r || b.shape[1] !== outDim) {
    throw new Error(
      `loraLinear: shapes do not fit: W [${w.shape}] needs A [${inDim}, r] and B [r, ${outDim}]; ` +
        `got A [${a.shape}], B [${b.shape}]`,
    );
  }
  const lead = x.shape.slice(0, -1);
  const f = tf.customGrad(
    grad((xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
      const x2 = tf.reshape(xi, [-1, inDim]) as tf.Tensor2D; // [rows, in]
      const h = tf.matMul(x2, ai as tf.Tensor2D); // [rows, r]
      const y = tf.add(tf.matMul(x2, w), tf.mul(tf.matMul(h, bi as tf.Tensor2D), scale)); // [rows, out]
      save([x2, h, ai, bi, w]); // all the backward pass reads (kept past inner tf.tidy scopes)
      return {
        value: tf.reshape(y, [...lead, outDim]),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, hs, as, bs, ws] = saved as tf.Tensor2D[] as [
            tf.Tensor2D,
            tf.Tensor2D,
            tf.Tensor2D,
            tf.Tensor2D,
            tf.Tensor2D,
          ];
          const g = tf.reshape(dy, [-1, outDim]) as tf.Tensor2D; // [rows, out]
          const gB = tf.mul(tf.matMul(g, bs, false, true), scale); // [rows, r]
          const dxBase = matMulByTranspose(g, w.isDisposed ? ws : w); // [rows, in] (live W: cached W^T)
          const dx = tf.add(dxBase, tf.matMul(gB, as, false, true));
          const da = tf.matMul(xs, gB, true, false); // [in, r]
          const db = tf.mul(tf.matMul(hs, g, true, false), scale); // [r, out]
          return [tf.reshape(dx, xi.shape), da, db];
        },
      };
    }),
  );
  return f(x, a, b) as tf.Tensor<R>;
}

/** Plain-tf reference: the same expression as separate ops, gradient by tfjs autograd. */
export function loraLinearReference<R extends tf.Rank>(
  x: tf.Tensor<R>,
  w: tf.Tensor2D,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  scale: number,
): tf.Tensor<R> {
  const [inDim, outDim] = w.shape;
  const x2 = tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  const y = tf.add(tf.matMul(x2, w), tf.mul(tf.matMul(tf.matMul(x2, a), b), scale));
  return tf.reshape<tf.Rank>(y, [...x.shape.slice(0, -1), outDim]) as tf.Tensor<R>;
}
