import * as tf from '@tensorflow/tfjs-core';
import { multiLoraDeltaReference } from '../kernels/multi-lora.js';
import { BGMV_KERNEL, SEGMENT_WEIGHT_GRAD_KERNEL } from './register-kernels.js';
import { webgpuOp } from './webgpu-op.js';
import { runWgsl } from './webgpu-program.js';

/** Checks x [rows, in], A [n, in, r], B [n, r, out]; returns the dimensions. */
export function stackDims(op: string, x: tf.Tensor, a: tf.Tensor, b: tf.Tensor) {
  const [rows, inDim] = x.shape;
  const [n, ain, r] = a.shape;
  const [bn, br, outDim] = b.shape;
  if (x.rank !== 2 || a.rank !== 3 || b.rank !== 3 || ain !== inDim || bn !== n || br !== r) {
    throw new Error(
      `${op}: x [rows, in] needs stacked adapters A [n, in, r] and B [n, r, out] with the same in, n and r; ` +
        `got x [${x.shape}], A [${a.shape}], B [${b.shape}]`,
    );
  }
  return { rows: rows!, inDim: inDim!, n: n!, r: r!, outDim: outDim! };
}

/**
 * BGMV on the webgpu backend: the LoRA delta of a batch where every row has its own adapter (decoding one token
 * for each of many users), gathered from stacked adapters by index:
 *
 *   delta[row] = scale · (x[row] · A[ids[row]]) · B[ids[row]]
 *   x [rows, in], ids int32 [rows], A [n, in, r], B [n, r, out]  ->  [rows, out]
 *
 * Add it to the frozen projection x·W. An id outside [0, n) (e.g. -1) contributes zeros, as the one-hot
 * reference does. Gradients w.r.t. x, A and B (each adapter gets the sum over its own rows only); ids are data.
 */
export function bgmv(
  x: tf.Tensor2D,
  ids: tf.Tensor1D,
  a: tf.Tensor3D,
  b: tf.Tensor3D,
  scale: number,
): tf.Tensor2D {
  const { rows, n } = stackDims('bgmv', x, a, b);
  if (ids.dtype !== 'int32' || ids.rank !== 1 || ids.shape[0] !== rows) {
    throw new Error(
      `bgmv: ids must be int32 [${rows}] (one adapter index per row), got ${ids.dtype} [${ids.shape}]`,
    );
  }
  const f = webgpuOp(
    'bgmv',
    (xi, ai, bi) => {
      const h = runWgsl(BGMV_KERNEL, { x: xi, w: ai, ids }, { scale: 1, transposeW: false, mode: 'shrink' }); // [rows, r]
      const y = runWgsl(BGMV_KERNEL, { x: h, w: bi, ids }, { scale, transposeW: false, mode: 'expand' }); // [rows, out]
      const offsets = tf.range(0, rows + 1, 1, 'int32'); // one segment per row, for the weight gradients
      return { value: y, saved: [xi, h, ai, bi, ids, offsets] };
    },
    (dy, [xs, hs, as, bs, id, off]) => {
      const gB = runWgsl(BGMV_KERNEL, { x: dy, w: bs, ids: id }, { scale, transposeW: true, mode: 'shrink' }); // [rows, r]
      const dx = runWgsl(
        BGMV_KERNEL,
        { x: gB, w: as, ids: id },
        { scale: 1, transposeW: true, mode: 'expand' },
      ); // [rows, in]
      const s = { offsets: off, ids: id };
      const da = runWgsl(SEGMENT_WEIGHT_GRAD_KERNEL, { x: xs, g: gB, ...s }, { scale: 1, adapters: n }); // [n, in, r]
      const db = runWgsl(SEGMENT_WEIGHT_GRAD_KERNEL, { x: hs, g: dy, ...s }, { scale, adapters: n }); // [n, r, out]
      return [dx, da, db];
    },
  );
  return f(x, a, b) as tf.Tensor2D;
}

/** Plain-tf reference of `bgmv` (one-hot selection, autograd gradients): runs on any backend. */
export function bgmvReference(
  x: tf.Tensor2D,
  ids: tf.Tensor1D,
  a: tf.Tensor3D,
  b: tf.Tensor3D,
  scale: number,
): tf.Tensor2D {
  const { rows, inDim, outDim } = stackDims('bgmvReference', x, a, b);
  const y = multiLoraDeltaReference(tf.reshape(x, [rows, 1, inDim]), ids, a, b, scale); // [rows, 1, out]
  return tf.reshape(y, [rows, outDim]);
}
