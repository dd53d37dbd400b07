import * as tf from '@tensorflow/tfjs-core';
import {
  LORA_LINEAR_KERNEL,
  SEGMENT_MAT_MUL_KERNEL,
  SEGMENT_WEIGHT_GRAD_KERNEL,
} from './register-kernels.js';
import { webgpuOp } from './webgpu-op.js';
import { runWgsl } from './webgpu-program.js';

/**
 * Fused LoRA projection on the webgpu backend: y = x·W + scale·(x·A)·B, with W [in, out] frozen, A [in, r],
 * B [r, out] trainable, x [..., in] -> [..., out]. Same contract as `loraLinear` (kernels/lora-linear.ts; its
 * plain-tf reference is `loraLinearReference`), in two WGSL passes:
 *
 *   h = x·A                    [rows, r]    OppuSegmentMatMul (one segment)
 *   y = [x | s·h]·[W ; B]      [rows, out]  OppuLoraLinear: one tiled product, no [rows, out] temporaries
 *
 * Gradients (W frozen), with g = dy and gB = s·g·B^T [rows, r]:
 *   dx = g·W^T + gB·A^T   (OppuLoraLinear with both weights transposed)
 *   dA = x^T·gB,  dB = s·h^T·g   (OppuSegmentWeightGrad)
 */
export function loraLinearWebgpu<R extends tf.Rank>(
  x: tf.Tensor<R>,
  w: tf.Tensor2D,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  scale: number,
): tf.Tensor<R> {
  const [inDim, outDim] = w.shape;
  const r = a.shape[1];
  if (a.shape[0] !== inDim || b.shape[0] !== r || b.shape[1] !== outDim || x.shape.at(-1) !== inDim) {
    throw new Error(
      `loraLinearWebgpu: shapes do not fit: W [${w.shape}] needs x [..., ${inDim}], A [${inDim}, r] and ` +
        `B [r, ${outDim}]; got x [${x.shape}], A [${a.shape}], B [${b.shape}]`,
    );
  }
  const lead = x.shape.slice(0, -1);
  const f = webgpuOp(
    'loraLinearWebgpu',
    (xi, ai, bi) => {
      const x2 = tf.reshape(xi, [-1, inDim]); // [rows, in]
      const rows = x2.shape[0]!;
      // One segment covering every row, adapter 0: the SGMV kernels then compute plain products.
      const offsets = tf.tensor1d([0, rows], 'int32');
      const ids = tf.tensor1d([0], 'int32');
      const h = runWgsl(
        SEGMENT_MAT_MUL_KERNEL,
        { x: x2, w: tf.reshape(ai, [1, inDim, r]), offsets, ids },
        { scale: 1, transposeW: false },
      ); // [rows, r]
      const y = runWgsl(
        LORA_LINEAR_KERNEL,
        { x: x2, w, h, b: bi },
        { scale, transposeW: false, transposeB: false },
      ); // [rows, out]
      return { value: tf.reshape(y, [...lead, outDim]), saved: [x2, h, ai, bi, w, offsets, ids] };
    },
    (dy, [xs, hs, as, bs, ws, off, id]) => {
      const g = tf.reshape(dy, [-1, outDim]); // [rows, out]
      const s = { offsets: off, ids: id };
      const gB = runWgsl(
        SEGMENT_MAT_MUL_KERNEL,
        { x: g, w: tf.reshape(bs, [1, r, outDim]), ...s },
        { scale, transposeW: true },
      ); // [rows, r] = s·g·B^T
      const dx = runWgsl(
        LORA_LINEAR_KERNEL,
        { x: g, w: ws, h: gB, b: as },
        { scale: 1, transposeW: true, transposeB: true },
      ); // [rows, in] = g·W^T + gB·A^T
      const da = runWgsl(SEGMENT_WEIGHT_GRAD_KERNEL, { x: xs, g: gB, ...s }, { scale: 1, adapters: 1 }); // [1, in, r]
      const db = runWgsl(SEGMENT_WEIGHT_GRAD_KERNEL, { x: hs, g, ...s }, { scale, adapters: 1 }); // [1, r, out]
      return [tf.reshape(dx, x.shape), tf.reshape(da, [inDim, r]), tf.reshape(db, [r, outDim])];
    },
  );
  return f(x, a, b) as tf.Tensor<R>;
}
