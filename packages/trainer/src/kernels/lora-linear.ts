import * as tf from '@tensorflow/tfjs-core';
import { grad } from './custom-grad.js';
import { matMulByTranspose } from './frozen-linear.js';
import { nativeKernels } from './native.js';
import { gemmInto } from './native-gemm.js';
import { activeWasmBackend, allocate } from './wasm-heap.js';

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
  const native = nativeKernels();
  const backend = activeWasmBackend();
  if (native && backend && x.dtype === 'float32') {
    // The same products through the addon, each written once into its output: y accumulates s·h·B onto
    // x·W (beta = 1) and dx accumulates gB·A^T onto g·W^T, so no Add or Mul kernels and no temporaries.
    const f = tf.customGrad(
      grad((xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
        const x2 = tf.reshape(xi, [-1, inDim]); // [rows, in] (a view)
        const rows = x2.shape[0]!;
        const h = allocate(backend, [rows, r]);
        gemmInto(native, backend, h, x2, ai);
        const y = allocate(backend, [rows, outDim]);
        gemmInto(native, backend, y, x2, w);
        gemmInto(native, backend, y, h, bi, { alpha: scale, beta: 1 });
        save([x2, h, ai, bi, w]);
        return {
          value: tf.reshape(y, [...lead, outDim]),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const [xs, hs, as, bs, ws] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
            const g = tf.reshape(dy, [-1, outDim]); // [rows, out]
            const gB = allocate(backend, [rows, r]);
            gemmInto(native, backend, gB, g, bs, { tb: true, alpha: scale });
            const dx = allocate(backend, [rows, inDim]);
            gemmInto(native, backend, dx, g, ws, { tb: true });
            gemmInto(native, backend, dx, gB, as, { tb: true, beta: 1 });
            const da = allocate(backend, [inDim, r]);
            gemmInto(native, backend, da, xs, gB, { ta: true });
            const db = allocate(backend, [r, outDim]);
            gemmInto(native, backend, db, hs, g, { ta: true, alpha: scale });
            return [tf.reshape(dx, xi.shape), da, db];
          },
        };
      }),
    );
    return f(x, a, b) as tf.Tensor<R>;
  }
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
