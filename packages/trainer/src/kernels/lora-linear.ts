import * as tf from '@tensorflow/tfjs-core';
import { grad } from './custom-grad.js';
import { matMulByTranspose } from './frozen-linear.js';
import { nativeKernels } from './native.js';
import { gemmInto } from './native-gemm.js';
import { activeWasmBackend, allocate } from './wasm-heap.js';

/**
 * Fused LoRA projection: y = x·W + scale·(xl·A)·B, with W [in, out] frozen, A [in, r], B [r, out] trainable,
 * x [..., in] -> [..., out]. The LoRA branch reads `xLora` when given (the same rows after dropout, as PEFT's
 * `lora.Linear` applies dropout to the adapter's input only), else x. (PEFT stores lora_A as [r, in] and lora_B
 * as [out, r]: pass their transposes.)
 *
 * One custom gradient for the whole expression: with g = dy and gB = scale·g·B^T [rows, r],
 *   dx = g·W^T (+ gB·A^T when the branch reads x),  dxl = gB·A^T,  dA = xl^T·gB,  dB = scale·(xl·A)^T·g,
 * so no weight gradient of W, no [rows, out]-sized intermediate besides y, and every product is a matMul
 * that the native kernel runs in place (x^T and W^T are strides, not copies).
 *
 * `inputGrad: false` says x (and xLora) depend on nothing trainable (the first layer's input, made from frozen
 * token embeddings): the op then differentiates A and B only and skips dx and dxl, the two largest products
 * of its backward pass.
 */
export function loraLinear<R extends tf.Rank>(
  x: tf.Tensor<R>,
  w: tf.Tensor2D,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  scale: number,
  xLora?: tf.Tensor<R>,
  options: { inputGrad?: boolean } = {},
): tf.Tensor<R> {
  const [inDim, outDim] = w.shape;
  const r = a.shape[1];
  const inputGrad = options.inputGrad ?? true;
  if (a.shape[0] !== inDim || b.shape[0] !== r || b.shape[1] !== outDim) {
    throw new Error(
      `loraLinear: shapes do not fit: W [${w.shape}] needs A [${inDim}, r] and B [r, ${outDim}]; ` +
        `got A [${a.shape}], B [${b.shape}]`,
    );
  }
  if (xLora && xLora.shape.join() !== x.shape.join()) {
    throw new Error(`loraLinear: xLora [${xLora.shape}] must have x's shape [${x.shape}]`);
  }
  const lead = x.shape.slice(0, -1);
  const split = xLora !== undefined; // the branch has its own input (and its own gradient)
  const native = nativeKernels();
  const backend = activeWasmBackend();
  if (native && backend && x.dtype === 'float32') {
    // The same products through the addon, each written once into its output: y accumulates s·h·B onto
    // x·W (beta = 1) and dx accumulates gB·A^T onto g·W^T, so no Add or Mul kernels and no temporaries.
    const body = (xi: tf.Tensor, xli: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
      const x2 = tf.reshape(xi, [-1, inDim]); // [rows, in] (a view)
      const xl2 = split ? tf.reshape(xli, [-1, inDim]) : x2;
      const rows = x2.shape[0]!;
      const h = allocate(backend, [rows, r]);
      gemmInto(native, backend, h, xl2, ai);
      const y = allocate(backend, [rows, outDim]);
      gemmInto(native, backend, y, x2, w);
      gemmInto(native, backend, y, h, bi, { alpha: scale, beta: 1 });
      save([xl2, h, ai, bi, w]);
      return {
        value: tf.reshape(y, [...lead, outDim]),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, hs, as, bs, ws] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
          const g = tf.reshape(dy, [-1, outDim]); // [rows, out]
          const gB = allocate(backend, [rows, r]);
          gemmInto(native, backend, gB, g, bs, { tb: true, alpha: scale });
          const da = allocate(backend, [inDim, r]);
          gemmInto(native, backend, da, xs, gB, { ta: true });
          const db = allocate(backend, [r, outDim]);
          gemmInto(native, backend, db, hs, g, { ta: true, alpha: scale });
          if (!inputGrad) return [da, db];
          const dx = allocate(backend, [rows, inDim]);
          gemmInto(native, backend, dx, g, ws, { tb: true });
          let dxl: tf.Tensor | undefined;
          if (split) {
            dxl = allocate(backend, [rows, inDim]);
            gemmInto(native, backend, dxl, gB, as, { tb: true });
          } else {
            gemmInto(native, backend, dx, gB, as, { tb: true, beta: 1 });
          }
          const dxOut = tf.reshape(dx, xi.shape);
          return dxl ? [dxOut, tf.reshape(dxl, xi.shape), da, db] : [dxOut, da, db];
        },
      };
    };
    return applyLora(body, x, xLora, a, b, inputGrad);
  }
  const body = (xi: tf.Tensor, xli: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
    const x2 = tf.reshape(xi, [-1, inDim]) as tf.Tensor2D; // [rows, in]
    const xl2 = split ? (tf.reshape(xli, [-1, inDim]) as tf.Tensor2D) : x2;
    const h = tf.matMul(xl2, ai as tf.Tensor2D); // [rows, r]
    const y = tf.add(tf.matMul(x2, w), tf.mul(tf.matMul(h, bi as tf.Tensor2D), scale)); // [rows, out]
    save([xl2, h, ai, bi, w]); // all the backward pass reads (kept past inner tf.tidy scopes)
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
        const da = tf.matMul(xs, gB, true, false); // [in, r]
        const db = tf.mul(tf.matMul(hs, g, true, false), scale); // [r, out]
        if (!inputGrad) return [da, db];
        const dxBase = matMulByTranspose(g, w.isDisposed ? ws : w); // [rows, in] (live W: cached W^T)
        const dxBranch = tf.matMul(gB, as, false, true); // [rows, in]
        return split
          ? [tf.reshape(dxBase, xi.shape), tf.reshape(dxBranch, xi.shape), da, db]
          : [tf.reshape(tf.add(dxBase, dxBranch), xi.shape), da, db];
      },
    };
  };
  return applyLora(body, x, xLora, a, b, inputGrad);
}

type LoraBody = (
  xi: tf.Tensor,
  xli: tf.Tensor,
  ai: tf.Tensor,
  bi: tf.Tensor,
  save: tf.GradSaveFunc,
) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

/**
 * Runs `body` as one custom-gradient op whose differentiable inputs are (x, xLora, A, B), (x, A, B) without a
 * separate branch input, or only (A, B) when the input needs no gradient: then x is a constant of the op, so
 * tfjs neither asks for nor receives dx.
 */
function applyLora<R extends tf.Rank>(
  body: LoraBody,
  x: tf.Tensor<R>,
  xLora: tf.Tensor<R> | undefined,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  inputGrad: boolean,
): tf.Tensor<R> {
  if (!inputGrad) {
    const xl = xLora ?? x;
    const f = tf.customGrad(
      grad((ai: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => body(x, xl, ai, bi, save)),
    );
    return f(a, b) as tf.Tensor<R>;
  }
  if (xLora) return tf.customGrad(grad(body))(x, xLora, a, b) as tf.Tensor<R>;
  const f = tf.customGrad(
    grad((xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => body(xi, xi, ai, bi, save)),
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
  xLora?: tf.Tensor<R>,
): tf.Tensor<R> {
  const [inDim, outDim] = w.shape;
  const x2 = tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  const xl2 = xLora ? (tf.reshape(xLora, [-1, inDim]) as tf.Tensor2D) : x2;
  const y = tf.add(tf.matMul(x2, w), tf.mul(tf.matMul(tf.matMul(xl2, a), b), scale));
  return tf.reshape<tf.Rank>(y, [...x.shape.slice(0, -1), outDim]) as tf.Tensor<R>;
}
