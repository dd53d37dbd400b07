import * as tf from '@tensorflow/tfjs-core';
import { multiLoraDeltaReference } from '../kernels/multi-lora.js';
import { stackDims } from './bgmv.js';
import { SEGMENT_MAT_MUL_KERNEL, SEGMENT_WEIGHT_GRAD_KERNEL } from './register-kernels.js';
import { webgpuOp } from './webgpu-op.js';
import { runWgsl } from './webgpu-program.js';

/**
 * Contiguous runs of rows sharing an adapter: segment s is rows [offsets[s], offsets[s+1]) and uses adapter
 * adapterIds[s]. offsets starts at 0, never decreases and ends at the number of rows (empty segments are
 * allowed); an adapter id outside [0, n) means "no adapter" (zero delta).
 */
export interface Segments {
  readonly offsets: readonly number[];
  readonly adapterIds: readonly number[];
}

/** Segments from run lengths: `segmentsOf([128, 128, 64], [3, 0, 3])`. */
export function segmentsOf(lengths: readonly number[], adapterIds: readonly number[]): Segments {
  const offsets = [0];
  for (const n of lengths) offsets.push(offsets.at(-1)! + n);
  return { offsets, adapterIds };
}

/** Checks the segment layout against `rows`; returns one adapter id per row. */
export function rowAdapterIds(op: string, segments: Segments, rows: number): Int32Array {
  const { offsets, adapterIds } = segments;
  if (offsets.length !== adapterIds.length + 1) {
    throw new Error(
      `${op}: ${adapterIds.length} adapter ids need ${adapterIds.length + 1} offsets, got ${offsets.length}`,
    );
  }
  if (offsets[0] !== 0 || offsets.at(-1) !== rows) {
    throw new Error(`${op}: offsets must run from 0 to the row count ${rows}; got [${offsets.join(', ')}]`);
  }
  const out = new Int32Array(rows);
  for (let s = 0; s < adapterIds.length; s++) {
    const [start, end, id] = [offsets[s]!, offsets[s + 1]!, adapterIds[s]!];
    if (!Number.isInteger(start) || !Number.isInteger(id) || end < start) {
      throw new Error(`${op}: segment ${s} [${start}, ${end}) with adapter ${id} is not a run of rows`);
    }
    out.fill(id, start, end);
  }
  return out;
}

/**
 * SGMV on the webgpu backend: the LoRA delta of a batch laid out as contiguous segments of rows that share an
 * adapter (prefill and training: each user's sequence is one segment), after Punica and S-LoRA:
 *
 *   delta[rows of segment s] = scale · (x[seg] · A[id_s]) · B[id_s]
 *   x [rows, in], A [n, in, r], B [n, r, out]  ->  [rows, out]
 *
 * Each 32-row block of the output stages its segment's adapter tiles once for all its rows. Gradients w.r.t.
 * x, A and B (each adapter receives only its own segments' gradient; adapters absent from the batch get
 * zeros). The segment layout is host data (known when the batch is built), checked here.
 */
export function sgmv(
  x: tf.Tensor2D,
  segments: Segments,
  a: tf.Tensor3D,
  b: tf.Tensor3D,
  scale: number,
): tf.Tensor2D {
  const { rows, n } = stackDims('sgmv', x, a, b);
  rowAdapterIds('sgmv', segments, rows);
  const f = webgpuOp(
    'sgmv',
    (xi, ai, bi) => {
      const offsets = tf.tensor1d(Int32Array.from(segments.offsets), 'int32'); // [S+1]
      const ids = tf.tensor1d(Int32Array.from(segments.adapterIds), 'int32'); // [S]
      const seg = { offsets, ids };
      const h = runWgsl(SEGMENT_MAT_MUL_KERNEL, { x: xi, w: ai, ...seg }, { scale: 1, transposeW: false }); // [rows, r]
      const y = runWgsl(SEGMENT_MAT_MUL_KERNEL, { x: h, w: bi, ...seg }, { scale, transposeW: false }); // [rows, out]
      return { value: y, saved: [xi, h, ai, bi, offsets, ids] };
    },
    (dy, [xs, hs, as, bs, off, id]) => {
      const s = { offsets: off, ids: id };
      const gB = runWgsl(SEGMENT_MAT_MUL_KERNEL, { x: dy, w: bs, ...s }, { scale, transposeW: true }); // [rows, r]
      const dx = runWgsl(SEGMENT_MAT_MUL_KERNEL, { x: gB, w: as, ...s }, { scale: 1, transposeW: true }); // [rows, in]
      const da = runWgsl(SEGMENT_WEIGHT_GRAD_KERNEL, { x: xs, g: gB, ...s }, { scale: 1, adapters: n }); // [n, in, r]
      const db = runWgsl(SEGMENT_WEIGHT_GRAD_KERNEL, { x: hs, g: dy, ...s }, { scale, adapters: n }); // [n, r, out]
      return [dx, da, db];
    },
  );
  return f(x, a, b) as tf.Tensor2D;
}

/** Plain-tf reference of `sgmv` (each row's adapter by one-hot selection, autograd gradients): any backend. */
export function sgmvReference(
  x: tf.Tensor2D,
  segments: Segments,
  a: tf.Tensor3D,
  b: tf.Tensor3D,
  scale: number,
): tf.Tensor2D {
  const { rows, inDim, outDim } = stackDims('sgmvReference', x, a, b);
  const ids = rowAdapterIds('sgmvReference', segments, rows);
  return tf.tidy(() => {
    const y = multiLoraDeltaReference(
      tf.reshape(x, [rows, 1, inDim]),
      tf.tensor1d(ids, 'int32'),
      a,
      b,
      scale,
    );
    return tf.reshape(y, [rows, outDim]);
  });
}
