import type * as tf from '@tensorflow/tfjs-core';
import type { NativeKernels } from './native.js';
import { floatOffset, heapView, type WasmBackend } from './wasm-heap.js';

const params = new Float64Array(17);

/**
 * out = alpha · op(a) · op(b) + beta · out for 2-D float32 tensors in wasm memory, op = transpose when asked:
 * lets a kernel accumulate several products into one output (beta = 1) with no temporaries and no Add.
 * `out` must be a tensor the caller just allocated (tensors are immutable once handed out).
 */
export function gemmInto(
  native: NativeKernels,
  backend: WasmBackend,
  out: tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
  options: { ta?: boolean; tb?: boolean; alpha?: number; beta?: number } = {},
): void {
  const { ta = false, tb = false, alpha = 1, beta = 0 } = options;
  const [ar, ac] = a.shape as [number, number];
  const [br, bc] = b.shape as [number, number];
  const m = ta ? ac : ar;
  const k = ta ? ar : ac;
  const n = tb ? br : bc;
  if ((tb ? bc : br) !== k || out.shape[0] !== m || out.shape[1] !== n) {
    throw new Error(
      `gemmInto: [${a.shape}]${ta ? 'ᵀ' : ''} · [${b.shape}]${tb ? 'ᵀ' : ''} does not fit [${out.shape}]`,
    );
  }
  params.set([1, m, n, k, floatOffset(backend, a), ta ? 1 : ac, ta ? ac : 1, 0]);
  params.set(
    [floatOffset(backend, b), tb ? 1 : bc, tb ? bc : 1, 0, floatOffset(backend, out), n, 0, alpha, beta],
    8,
  );
  const heap = heapView(backend); // after every allocation the caller made: growth replaces the buffer
  native.gemm(heap, heap, heap, params);
}
