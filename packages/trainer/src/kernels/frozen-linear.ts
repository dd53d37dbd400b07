import * as tf from '@tensorflow/tfjs-core';
import { grad } from './custom-grad.js';
import { matMulMode } from './mat-mul.js';

/**
 * A projection by a frozen weight: y = x·W with W [in, out], x [..., in] -> [..., out].
 *
 * The gradient goes to x only (dx = dy·W^T); W never gets one, whatever the caller differentiates. With the
 * native matMul, dy·W^T is a transposed-B GEMM read in place. With the XNNPACK-per-batch fallback a transposed
 * operand costs an explicit transpose per call, so W^T is computed once per weight and cached (freed when W is
 * disposed; see `clearFrozenLinearCache`).
 */
export function frozenLinear<R extends tf.Rank>(x: tf.Tensor<R>, w: tf.Tensor2D): tf.Tensor<R> {
  const [inDim, outDim] = w.shape;
  const lead = x.shape.slice(0, -1);
  if (x.shape[x.shape.length - 1] !== inDim) {
    throw new Error(
      `frozenLinear: x [${x.shape}] does not end with the weight's input size ${inDim} (W [${w.shape}])`,
    );
  }
  const f = tf.customGrad(
    grad((xi: tf.Tensor, save: tf.GradSaveFunc) => {
      const y = tf.matMul(tf.reshape(xi, [-1, inDim]), w); // [rows, out]
      save([w]); // a W built inside the caller's tf.tidy would be gone by the backward pass
      return {
        value: tf.reshape(y, [...lead, outDim]),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const dy2 = tf.reshape(dy, [-1, outDim]); // [rows, out]
          const wb = w.isDisposed ? (saved[0] as tf.Tensor2D) : w; // the live weight keeps its cached W^T
          return tf.reshape(matMulByTranspose(dy2 as tf.Tensor2D, wb), xi.shape); // [rows, in]
        },
      };
    }),
  );
  return f(x) as tf.Tensor<R>;
}

/** Plain-tf reference: the same product through tf.matMul, gradient by tfjs autograd. */
export function frozenLinearReference<R extends tf.Rank>(x: tf.Tensor<R>, w: tf.Tensor2D): tf.Tensor<R> {
  const [inDim, outDim] = w.shape;
  return tf.reshape<tf.Rank>(tf.matMul(tf.reshape(x, [-1, inDim]), w), [
    ...x.shape.slice(0, -1),
    outDim,
  ]) as tf.Tensor<R>;
}

/** g·W^T for a frozen W [in, out] and g [rows, out] -> [rows, in], by the cheapest route on this backend. */
export function matMulByTranspose(g: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const wt = cachedTranspose(w);
  return wt ? tf.matMul(g, wt) : tf.matMul(g, w, false, true);
}

const transposes = new Map<number, { w: tf.Tensor2D; wt: tf.Tensor2D }>();

/** W^T, cached per weight, when the active matMul pays for transposed operands (the wasm fallback). */
function cachedTranspose(w: tf.Tensor2D): tf.Tensor2D | null {
  if (tf.getBackend() !== 'wasm' || matMulMode() !== 'wasm') return null;
  for (const [id, e] of transposes) {
    if (e.w.isDisposed) {
      e.wt.dispose();
      transposes.delete(id);
    }
  }
  let e = transposes.get(w.id);
  if (!e) {
    e = { w, wt: tf.keep(tf.transpose(w)) };
    transposes.set(w.id, e);
  }
  return e.wt;
}

/** Frees every cached W^T (they are also freed lazily once their weight is disposed). */
export function clearFrozenLinearCache(): void {
  for (const e of transposes.values()) e.wt.dispose();
  transposes.clear();
}
