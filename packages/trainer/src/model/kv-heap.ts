import * as tf from '@tensorflow/tfjs-core';
import { allocate, floatOffset, heapView, type WasmBackend } from '../kernels/wasm-heap.js';

/**
 * The KV cache's in-place storage on the wasm backend: per layer, k and v are [b, kvh, capacity, hd] buffers
 * in wasm memory; each step writes its new positions into them, so nothing is concatenated (a concat copies
 * the whole cache, every layer, every step). Capacity grows in blocks of `KV_BLOCK` positions; positions
 * beyond the cached length are zeros and masked out of attention.
 */
export const KV_BLOCK = 64;

/** The capacity for `positions` cached positions: whole blocks, at most `maxSeqLen`. */
export function kvCapacity(positions: number, maxSeqLen: number): number {
  return Math.min(maxSeqLen, Math.ceil(positions / KV_BLOCK) * KV_BLOCK);
}

/**
 * A zeroed [b, kvh, capacity, hd] buffer holding the first `keep` positions of `old` (or none). Kept past any
 * tf.tidy: the cache owns it.
 */
export function kvBuffer(
  backend: WasmBackend,
  old: tf.Tensor4D | undefined,
  keep: number,
  [b, kvh, capacity, hd]: [number, number, number, number],
): tf.Tensor4D {
  const buf = tf.keep(allocate(backend, [b, kvh, capacity, hd])) as tf.Tensor4D;
  const heap = heapView(backend);
  const off = floatOffset(backend, buf);
  heap.fill(0, off, off + b * kvh * capacity * hd);
  if (old && keep > 0) {
    const oldCap = old.shape[2];
    const src = floatOffset(backend, old);
    for (let row = 0; row < b * kvh; row++) {
      const from = src + row * oldCap * hd;
      heap.copyWithin(off + row * capacity * hd, from, from + keep * hd);
    }
  }
  return buf;
}

/**
 * Writes the new positions `x` [b, tNew, kvh, hd] (any shape of that layout: the projections' own) into `buf`
 * [b, kvh, capacity, hd] at positions past .. past + tNew - 1. Mutates `buf`, which only the cache holds.
 */
export function kvWrite(backend: WasmBackend, buf: tf.Tensor4D, x: tf.Tensor, past: number): void {
  const [b, kvh, capacity, hd] = buf.shape;
  const tNew = x.size / (b * kvh * hd);
  const heap = heapView(backend);
  const dst = floatOffset(backend, buf);
  const src = floatOffset(backend, x);
  for (let bi = 0; bi < b; bi++) {
    for (let ti = 0; ti < tNew; ti++) {
      for (let hi = 0; hi < kvh; hi++) {
        const from = src + ((bi * tNew + ti) * kvh + hi) * hd;
        heap.copyWithin(dst + ((bi * kvh + hi) * capacity + past + ti) * hd, from, from + hd);
      }
    }
  }
}

/**
 * A [rows.length, kvh, capacity, hd] buffer whose row i is a copy of `src`'s row `rows[i]` (each row one
 * contiguous block: a copy, not a gather kernel's per-element walk). Kept past any tf.tidy: a cache owns it.
 */
export function kvSelectRows(backend: WasmBackend, src: tf.Tensor4D, rows: readonly number[]): tf.Tensor4D {
  const [, kvh, capacity, hd] = src.shape;
  const block = kvh * capacity * hd;
  const buf = tf.keep(allocate(backend, [rows.length, kvh, capacity, hd])) as tf.Tensor4D;
  const heap = heapView(backend); // after allocating: memory may have grown
  const dst = floatOffset(backend, buf);
  const from = floatOffset(backend, src);
  rows.forEach((r, i) => {
    heap.copyWithin(dst + i * block, from + r * block, from + (r + 1) * block);
  });
  return buf;
}
