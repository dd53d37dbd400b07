import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The optional native addon (packages/trainer/native): a cache-blocked SGEMM with AVX-512/AVX2 micro-kernels
 * picked at run time and a persistent thread pool. It computes on ArrayBuffers in place, including the memory of
 * the tfjs wasm backend, so wasm tensors are multiplied with no copy.
 *
 * Loaded once, lazily. Absent (no compiler at install time, another platform) or disabled with `OPPU_NATIVE=0`,
 * every kernel falls back to its wasm/tf path and one line says so. `OPPU_ISA=avx2|generic` forces a narrower
 * micro-kernel than the CPU's best: results then match, to the bit, a machine without AVX-512 (the summation
 * order differs between micro-kernels, so trained adapters differ in the last bits from one CPU to another).
 */
export interface NativeKernels {
  /**
   * C[b] = alpha * A[b] * B[b] + beta * C[b]. Operands are ArrayBuffers or Float32Arrays addressed in floats.
   * params (17 numbers): batch, m, n, k, aOff, aRowStride, aColStride, aBatchStride, bOff, bRowStride,
   * bColStride, bBatchStride, cOff, cRowStride, cBatchStride, alpha, beta.
   */
  gemm(
    a: ArrayBufferLike | Float32Array,
    b: ArrayBufferLike | Float32Array,
    c: ArrayBufferLike | Float32Array,
    params: Float64Array,
  ): void;
  /**
   * Softmax cross-entropy of logits [n, v] at float offset `logitsOff` of `heap`: returns
   * sum_i w_i * nll_i / sum_i w_i and, when gradOff >= 0, writes its gradient w.r.t. the logits at `gradOff`.
   */
  softmaxXent(
    heap: Float32Array,
    logitsOff: number,
    gradOff: number,
    n: number,
    v: number,
    targets: Int32Array,
    weights: Float32Array | null,
  ): number;
  /**
   * Row/element kernels on float offsets into `heap` (see native/src/addon.cc for each op's params):
   * 0 rmsnorm forward, 1 rmsnorm backward, 2 swiglu forward, 3 swiglu backward, 4 rope.
   */
  rowOp(op: number, heap: Float32Array, params: Float64Array): void;
  /**
   * One batch-1 decoding step through every layer of a Llama-family decoder, in place on float offsets into
   * `heap` (params layout: native/src/addon.cc, `DecodeStep`); cos/sin: the position's hd/2 RoPE angles.
   * Optional: a build from before it lacks it, and the decoder then runs its graph.
   */
  decodeStep?(heap: Float32Array, params: Float64Array, cos: Float32Array, sin: Float32Array): void;
  info(): { isa: string; threads: number };
  /** Forces a micro-kernel: 'avx512' | 'avx2' | 'generic' | 'best'. Returns false if this CPU cannot run it. */
  setIsa(isa: string): boolean;
  setThreads(threads: number): void;
}

const addonPath = fileURLToPath(new URL('../../native/build/Release/oppu_kernels.node', import.meta.url));

const REQUIRED = ['gemm', 'softmaxXent', 'rowOp', 'info', 'setIsa', 'setThreads'] as const;
const OPTIONAL = ['decodeStep'] as const;

let loaded: NativeKernels | null | undefined;
let reason = '';
let enabled = true;

/**
 * Lets every kernel use the addon (default) or keeps all of them on their wasm/tf paths, for this process:
 * `installKernels({ native: false })` calls it with false.
 */
export function useNative(on: boolean): void {
  enabled = on;
}

/** The native addon, or null when it is disabled or could not be loaded (see `nativeStatus()`). */
export function nativeKernels(): NativeKernels | null {
  if (!enabled) return null;
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.env.OPPU_NATIVE === '0') {
    reason = 'disabled by OPPU_NATIVE=0';
  } else if (!existsSync(addonPath)) {
    reason = `not built (${addonPath} is missing; run \`pnpm --filter @oppu/trainer run build:native\`)`;
  } else {
    try {
      const addon = createRequire(import.meta.url)(addonPath) as Partial<NativeKernels>;
      const missing = REQUIRED.filter((name) => typeof addon[name] !== 'function');
      if (missing.length > 0) {
        reason = `stale build (no ${missing.join(', ')}; run \`pnpm --filter @oppu/trainer run build:native\`)`;
      } else {
        // A plain object of the addon's functions (its own properties are read-only): tests can wrap one.
        loaded = Object.fromEntries(
          [...REQUIRED, ...OPTIONAL].filter((n) => typeof addon[n] === 'function').map((n) => [n, addon[n]]),
        ) as unknown as NativeKernels;
        const isa = process.env.OPPU_ISA;
        if (isa && isa !== 'best' && !loaded.setIsa(isa)) {
          throw new Error(`OPPU_ISA=${isa}: this CPU cannot run it (use avx512, avx2, generic or best)`);
        }
        reason = `loaded (${loaded.info().isa}, ${loaded.info().threads} threads)`;
      }
    } catch (err) {
      reason = `failed to load ${addonPath}: ${(err as Error).message}`;
    }
  }
  if (!loaded && process.env.OPPU_QUIET !== '1') {
    console.warn(`[@oppu/trainer] native kernels ${reason}; using the wasm kernels`);
  }
  return loaded;
}

/** Whether the native addon is in use, and why not when it is not. */
export function nativeStatus(): { available: boolean; detail: string } {
  if (!enabled)
    return { available: false, detail: 'turned off for this process (installKernels({ native: false }))' };
  const k = nativeKernels();
  return { available: k !== null, detail: reason };
}
