import * as tf from '@tensorflow/tfjs-core';
import { activeWasmBackend, heapF32, heapI32 } from './wasm-heap.js';

/**
 * out[s] = sum of values[i] over the rows i with segmentIds[i] = s: values [n, width], segmentIds [n] int32 ->
 * [numSegments, width]. This is the scatter-add behind the gradients of a gather (embedding rows, stacked
 * adapters), done on the host because tfjs-backend-wasm has no UnsortedSegmentSum kernel. On wasm it reads the
 * operands in place in wasm memory. Ids outside [0, numSegments) are an error.
 */
export function segmentSumRows(
  values: tf.Tensor2D,
  segmentIds: tf.Tensor1D,
  numSegments: number,
): tf.Tensor2D {
  const [n, width] = values.shape;
  if (segmentIds.shape[0] !== n) {
    throw new Error(`segmentSumRows: ${segmentIds.shape[0]} segment ids for ${n} rows`);
  }
  const backend = activeWasmBackend();
  const v = backend ? heapF32(backend, values) : (values.dataSync() as Float32Array);
  const ids = backend && segmentIds.dtype === 'int32' ? heapI32(backend, segmentIds) : segmentIds.dataSync();
  const out = new Float32Array(numSegments * width);
  for (let i = 0; i < n; i++) {
    const s = ids[i]!;
    if (!(s >= 0 && s < numSegments)) {
      throw new Error(`segmentSumRows: row ${i} has segment id ${s}, outside [0, ${numSegments})`);
    }
    const o = s * width;
    const r = i * width;
    for (let j = 0; j < width; j++) out[o + j]! += v[r + j]!;
  }
  return tf.tensor2d(out, [numSegments, width]);
}
