import { OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The allocation guard of the wasm backend's heap.
 *
 * tfjs-backend-wasm allocates every tensor with `_malloc` and never checks the result: when the heap cannot
 * grow (wasm32 stops at 4 GiB), malloc returns 0 and the tensor is placed at address 0, so the kernel that fills
 * it writes over the start of wasm memory: the C++ runtime's static data, its stack and malloc's own
 * bookkeeping. The process then fails later, somewhere unrelated (`memory access out of bounds` in
 * `_dispose_data`, `table index is out of bounds` in Softmax), and whatever was trained is lost
 * (docs/decisions/009-wasm-heap-exhaustion.md). The guard turns that into a clean OppuError `out_of_memory`
 * thrown by the allocation itself: nothing is written, tf.tidy frees what the failed step made, and the backend
 * stays usable.
 *
 * It also keeps the last `WASM_HEAP_HEADROOM` bytes of the address space for the C++ side's own small
 * allocations (its tensor registry, XNNPACK), which abort the whole module when they fail.
 */

/** The most the wasm32 heap can grow to (emscripten's `getHeapMax()`: 4 GiB less one page). */
export const WASM_HEAP_MAX = 4294901760;
/** Address space a tensor may not take: the runtime's own allocations need it. */
export const WASM_HEAP_HEADROOM = 64 * 2 ** 20;

/** What the guard needs of the emscripten module: its allocator and its memory. */
export interface GuardedWasmModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

export interface WasmHeapUsage {
  /** Bytes of tensors allocated through the backend and not yet freed. */
  readonly liveBytes: number;
  /** The most `liveBytes` has been since the guard was installed or `resetPeak` was called. */
  readonly peakBytes: number;
  /** The size of wasm memory now (it never shrinks). */
  readonly heapBytes: number;
}

interface Guard {
  readonly sizes: Map<number, number>;
  live: number;
  peak: number;
  malloc?: (bytes: number) => number;
}

const guards = new WeakMap<GuardedWasmModule, Guard>();

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20).toLocaleString('en-US')} MiB`;

/**
 * Installs the guard on a wasm module (idempotent): `_malloc` that cannot be satisfied, or whose block would
 * end in the last `WASM_HEAP_HEADROOM` bytes, throws OppuError `out_of_memory` instead of returning 0.
 */
export function guardWasmMemory(wasm: GuardedWasmModule): void {
  const known = guards.get(wasm);
  if (known && wasm._malloc === known.malloc) return;
  const guard: Guard = known ?? { sizes: new Map(), live: 0, peak: 0 };
  guards.set(wasm, guard);
  // Emscripten's `_malloc` and `_free` start as stubs that replace themselves with the wasm exports on their
  // first call (which would drop a wrapper installed over a stub): one call each resolves them first.
  wasm._free(wasm._malloc(8));
  const malloc = wasm._malloc.bind(wasm);
  const free = wasm._free.bind(wasm);
  guard.malloc = (bytes: number): number => {
    const pointer = malloc(bytes) >>> 0;
    const end = pointer + bytes;
    if (bytes > 0 && (pointer === 0 || end > WASM_HEAP_MAX - WASM_HEAP_HEADROOM)) {
      if (pointer !== 0) free(pointer);
      throw new OppuError(
        'out_of_memory',
        `out of memory: the wasm heap cannot hold ${mib(bytes)} more (${mib(guard.live)} of tensors, ${mib(wasm.HEAPU8.length)} of at most ${mib(WASM_HEAP_MAX)} in use); lower maxBatchTokens or train fewer users at once`,
      );
    }
    guard.sizes.set(pointer, bytes);
    guard.live += bytes;
    if (guard.live > guard.peak) guard.peak = guard.live;
    return pointer;
  };
  wasm._malloc = guard.malloc;
  wasm._free = (pointer: number): void => {
    const bytes = guard.sizes.get(pointer >>> 0);
    if (bytes !== undefined) {
      guard.sizes.delete(pointer >>> 0);
      guard.live -= bytes;
    }
    free(pointer);
  };
}

/** The active wasm backend's module, if wasm is the active backend. */
function activeModule(): GuardedWasmModule | undefined {
  return tf.getBackend() === 'wasm'
    ? (tf.backend() as unknown as { wasm: GuardedWasmModule }).wasm
    : undefined;
}

/**
 * Tensor bytes (live and peak) and heap size of a guarded module (default: the active wasm backend's);
 * undefined when it has no guard or wasm is not the backend.
 */
export function wasmHeapUsage(wasm = activeModule()): WasmHeapUsage | undefined {
  if (!wasm) return undefined;
  const guard = guards.get(wasm);
  if (!guard) return undefined;
  return { liveBytes: guard.live, peakBytes: guard.peak, heapBytes: wasm.HEAPU8.length };
}

/** Starts a new peak: `peakBytes` becomes the bytes live now (default: the active wasm backend's). */
export function resetWasmHeapPeak(wasm = activeModule()): void {
  if (!wasm) return;
  const guard = guards.get(wasm);
  if (guard) guard.peak = guard.live;
}
