import * as tf from '@tensorflow/tfjs-core';
import { activeWasmBackend, type WasmBackend } from '../kernels/wasm-heap.js';
import { kvBuffer, kvCapacity, kvSelectRows, kvWrite } from './kv-heap.js';

/**
 * The decoder's KV cache: the keys and values of every past position, so that each decoding step runs only
 * its new tokens. Shapes: b = batch, kvh = kv heads, hd = head size, t = new positions of one forward call.
 *
 * On wasm the tensors are buffers in wasm memory that each step writes its new positions into (kv-heap.ts: no
 * copy of the whole cache per step), with room for `capacity` >= `length` positions; elsewhere each step
 * concatenates its positions to the old tensors and `capacity` = `length`.
 */

/** One layer's cached keys and values, each [b, kvh, capacity, hd]. */
export interface KVLayer {
  readonly k: tf.Tensor4D;
  readonly v: tf.Tensor4D;
}

/**
 * Keys and values of every past position, per layer. Owned by the caller of `LlamaModel.forward`;
 * `dispose()` frees it. `length` counts all cached positions, soft-prompt positions included.
 */
export class KVCache {
  readonly layers: KVLayer[] = [];
  length = 0;
  /** Virtual (soft-prompt) positions at the start of the cache. */
  prefixLength = 0;
  /** Positions the tensors hold (axis 2); positions from `length` on are unused and masked out. */
  capacity = 0;

  /**
   * A new cache whose row i is a copy of this cache's row `rows[i]` (e.g. a prompt's keys and values for each
   * of its continuations, which then extend their copies independently). The caller disposes both.
   */
  selectRows(rows: readonly number[]): KVCache {
    const out = new KVCache();
    const wasm = activeWasmBackend();
    const index = wasm ? undefined : tf.tensor1d(rows as number[], 'int32');
    const select = (t: tf.Tensor4D) =>
      wasm ? kvSelectRows(wasm, t, rows) : (tf.gather(t, index as tf.Tensor1D) as tf.Tensor4D);
    const made: tf.Tensor[] = [];
    try {
      for (const l of this.layers) {
        const k = select(l.k);
        made.push(k);
        const v = select(l.v);
        made.push(v);
        out.layers.push({ k, v });
      }
    } catch (error) {
      tf.dispose(made);
      throw error;
    } finally {
      index?.dispose();
    }
    out.length = this.length;
    out.prefixLength = this.prefixLength;
    out.capacity = this.capacity;
    return out;
  }

  dispose(): void {
    for (const l of this.layers) tf.dispose([l.k, l.v]);
    this.layers.length = 0;
    this.length = 0;
    this.prefixLength = 0;
    this.capacity = 0;
  }
}

/**
 * One forward call's writes into a cache. The call asks for room (`reserve`), appends each layer's new keys
 * and values (`append`, inside the call's tf.tidy: what it returns for the cache is kept), then either
 * `commit`s (the cache now holds the new layers, and the tensors they replaced are freed) or, on an error,
 * `discard`s (the buffers this call made are freed; the cache is as it was).
 */
export class KVCacheWriter {
  /** Cached positions before this call. */
  readonly past: number;
  /** Positions the attention reads per row (axis 2 of what `append` returns); set by `reserve`. */
  capacity = 0;
  private readonly wasm: WasmBackend | null;
  private readonly next: KVLayer[] = [];
  private readonly made: tf.Tensor[] = [];

  constructor(
    private readonly cache: KVCache,
    private readonly maxSeqLen: number,
  ) {
    this.past = cache.length;
    this.wasm = activeWasmBackend();
  }

  /** Room for `positions` (cached + new) positions: whole blocks in place on wasm, exactly `positions` elsewhere. */
  reserve(positions: number): number {
    this.capacity = this.wasm
      ? Math.max(this.cache.capacity, kvCapacity(positions, this.maxSeqLen))
      : positions;
    return this.capacity;
  }

  /**
   * Layer `layer`'s keys and values over every position, cached and new: k, v [b, t, kvh, hd] (the new
   * positions, in the projections' layout) -> [b, kvh, capacity, hd] each. Call once per layer, in order.
   */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): KVLayer {
    const [b, , kvh, hd] = k.shape;
    const cached = this.cache.layers[layer];
    let entry: KVLayer;
    if (this.wasm) {
      // In place: (grow the buffers if needed, then) write the new positions at past .. past + t - 1.
      const buffers = this.heapBuffers(layer, b, kvh, hd);
      kvWrite(this.wasm, buffers.k, k, this.past);
      kvWrite(this.wasm, buffers.v, v, this.past);
      entry = buffers;
    } else {
      let kh = headsFirst(k); // [b, kvh, t, hd]
      let vh = headsFirst(v);
      if (cached && this.past > 0) {
        kh = tf.concat([cached.k, kh], 2); // [b, kvh, past + t, hd]
        vh = tf.concat([cached.v, vh], 2);
      }
      entry = { k: tf.keep(kh), v: tf.keep(vh) };
      this.made.push(entry.k, entry.v);
    }
    this.next.push(entry);
    return entry;
  }

  /** Whether the layers are buffers in wasm memory written in place (`heapBuffers`). */
  get inPlace(): boolean {
    return this.wasm !== null;
  }

  /**
   * Layer `layer`'s in-place buffers [b, kvh, capacity, hd] (grown from the cached ones if needed), for a
   * caller that writes the new positions into them itself (the fused decoding step). Call once per layer, in
   * order, instead of `append`; wasm only.
   */
  writeInPlace(layer: number, b: number, kvh: number, hd: number): KVLayer {
    const buffers = this.heapBuffers(layer, b, kvh, hd);
    this.next.push(buffers);
    return buffers;
  }

  private heapBuffers(layer: number, b: number, kvh: number, hd: number): KVLayer {
    if (!this.wasm) throw new Error('KVCacheWriter: the cache is not in wasm memory');
    const cached = this.cache.layers[layer];
    let buffers = cached;
    if (!buffers || buffers.k.shape[2] !== this.capacity) {
      const shape: [number, number, number, number] = [b, kvh, this.capacity, hd];
      buffers = {
        k: kvBuffer(this.wasm, cached?.k, this.past, shape),
        v: kvBuffer(this.wasm, cached?.v, this.past, shape),
      };
      this.made.push(buffers.k, buffers.v);
    }
    return buffers;
  }

  /** The cache now holds this call's layers: `length` positions, the first `prefixLength` of them virtual. */
  commit(length: number, prefixLength: number): void {
    const kept = new Set(this.next.flatMap((l) => [l.k, l.v]));
    for (const l of this.cache.layers) for (const t of [l.k, l.v]) if (!kept.has(t)) t.dispose();
    this.cache.layers.splice(0, this.cache.layers.length, ...this.next);
    this.cache.length = length;
    this.cache.prefixLength = prefixLength;
    this.cache.capacity = this.capacity;
  }

  /** Frees what this call made for the cache (after a failure); the cache keeps its old layers. */
  discard(): void {
    tf.dispose(this.made);
  }
}

/** [b, t, heads, hd] -> [b, heads, t, hd]. */
export function headsFirst(x: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(x, [0, 2, 1, 3]) as tf.Tensor4D;
}
