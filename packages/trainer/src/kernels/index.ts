import { installIdentity, restoreStockIdentity } from './identity.js';
import { installMatMul, type MatMulMode, matMulMode, restoreStockMatMul } from './mat-mul.js';
import { nativeStatus } from './native.js';
import { activeWasmBackend } from './wasm-heap.js';

export { causalAttention, causalAttentionReference } from './attention.js';
export { softmaxCrossEntropy, softmaxCrossEntropyReference } from './cross-entropy.js';
export { embedding, embeddingOneHot, embeddingReference } from './embedding.js';
export {
  clearFrozenLinearCache,
  frozenLinear,
  frozenLinearReference,
  matMulByTranspose,
} from './frozen-linear.js';
export {
  causalSoftmax,
  causalSoftmaxReference,
  type RopeStyle,
  rmsNorm,
  rmsNormReference,
  rope,
  ropeReference,
  swiglu,
  swigluReference,
} from './fused-ops.js';
export { loraLinear, loraLinearReference } from './lora-linear.js';
export { installMatMul, type MatMulMode, matMulMode, restoreStockMatMul } from './mat-mul.js';
export { multiLoraDelta, multiLoraDeltaReference, multiLoraLinear } from './multi-lora.js';
export { type NativeKernels, nativeKernels, nativeStatus, useNative } from './native.js';
export { segmentSumRows } from './segment-sum.js';

export interface KernelsInfo {
  /** Which BatchMatMul the wasm backend runs: 'native' (addon), 'wasm' (XNNPACK per batch) or 'stock'. */
  matMul: MatMulMode;
  /** Why the native addon is or is not in use. */
  native: string;
}

/**
 * Installs the fast kernels on the wasm backend: BatchMatMul (native or XNNPACK per batch) and a copy-free
 * Identity (call once, after importing @tensorflow/tfjs-backend-wasm;
 * harmless on other backends, whose kernels are left alone). `native: false` keeps the addon out even
 * when it is built; `OPPU_NATIVE=0` does the same from the environment.
 */
export function installKernels(options: { native?: boolean } = {}): KernelsInfo {
  activeWasmBackend(); // guards the wasm heap's allocations (backend/wasm-memory.ts)
  installMatMul(options);
  installIdentity();
  return kernelsInfo();
}

/** Puts the stock tfjs-backend-wasm kernels back. */
export function uninstallKernels(): void {
  restoreStockMatMul();
  restoreStockIdentity();
}

export function kernelsInfo(): KernelsInfo {
  return { matMul: matMulMode(), native: nativeStatus().detail };
}
export { type BgmvAdapter, bgmvAdd, bgmvAvailable } from './bgmv.js';
