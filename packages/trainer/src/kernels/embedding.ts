import * as tf from '@tensorflow/tfjs-core';
import { grad } from './custom-grad.js';
import { segmentSumRows } from './segment-sum.js';
import { activeWasmBackend, allocate, heapF32, heapI32 } from './wasm-heap.js';

/**
 * Token embedding lookup: table [vocab, d], ids int32 [...] -> [..., d]; on wasm the rows are copied inside wasm
 * memory (see `gatherRows`).
 *
 * tf.gather's gradient is an UnsortedSegmentSum, which tfjs-backend-wasm lacks (training through it throws).
 * Here the table's gradient is a scatter-add of dy rows by token id, on the host (`segmentSumRows`); measured
 * against a one-hot matMul in bench/kernels. When the table is frozen (LoRA), tfjs never asks for it.
 */
export function embedding(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const [vocab, d] = table.shape;
  if (ids.dtype !== 'int32') throw new Error(`embedding: ids must be int32, got ${ids.dtype}`);
  const flat = tf.reshape(ids, [-1]) as tf.Tensor1D;
  const f = tf.customGrad(
    grad((t: tf.Tensor, save: tf.GradSaveFunc) => {
      save([flat]); // kept for the backward pass even when the forward runs in an inner tf.tidy
      return {
        value: tf.reshape(gatherRows(t as tf.Tensor2D, flat), [...ids.shape, d]),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          segmentSumRows(tf.reshape(dy, [-1, d]) as tf.Tensor2D, saved[0] as tf.Tensor1D, vocab),
      };
    }),
  );
  return f(table);
}

/** Plain-tf reference: tf.gather (its gradient needs UnsortedSegmentSum: use it on the cpu backend). */
export function embeddingReference(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  return tf.gather(table, ids);
}

/** The one-hot alternative: oneHot(ids) · table, gradient by matMul (dense, [vocab x n x d] work). */
export function embeddingOneHot(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const [vocab, d] = table.shape;
  return tf.tidy(() => {
    // (tfjs-backend-wasm 4.22 OneHot writes int bits when asked for float32: cast instead.)
    const oh = tf.cast(tf.oneHot(tf.reshape(ids, [-1]) as tf.Tensor1D, vocab), 'float32');
    return tf.reshape(tf.matMul(oh, table), [...ids.shape, d]);
  });
}

/**
 * table[ids] as row copies inside wasm memory (stock wasm GatherV2 takes ~7 ms for 1024 rows of 256; this
 * takes well under 1), tf.gather elsewhere. Ids outside [0, vocab) are an error.
 */
function gatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const backend = activeWasmBackend();
  if (!backend || table.dtype !== 'float32') return tf.gather(table, ids);
  const [vocab, d] = table.shape;
  const n = ids.shape[0];
  const out = allocate(backend, [n, d]) as tf.Tensor2D;
  const src = heapF32(backend, table);
  const dst = heapF32(backend, out);
  const idv = heapI32(backend, ids);
  for (let i = 0; i < n; i++) {
    const id = idv[i]!;
    if (!(id >= 0 && id < vocab)) {
      out.dispose();
      throw new Error(`embedding: token id ${id} at position ${i} is outside the vocabulary [0, ${vocab})`);
    }
    dst.set(src.subarray(id * d, id * d + d), i * d);
  }
  return out;
}
