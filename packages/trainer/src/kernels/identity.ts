import type { KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import type { WasmBackend } from './wasm-heap.js';

/**
 * Identity for the wasm backend without a copy. tfjs clones every tensor a kernel saves for its backward pass
 * (`engine.clone` runs Identity), and stock tfjs-backend-wasm's Identity copies the data: a training step of
 * the reference model makes ~250 such copies. Tensors are immutable in tfjs, so the clone can share the data
 * and bump its reference count, as tfjs-backend-cpu's Identity does.
 */
function sharedIdentity(args: { inputs: NamedTensorInfoMap; backend: unknown }): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  const backend = args.backend as WasmBackend & { incRef(dataId: object): void };
  if (x.dtype === 'string') return stockIdentity!.kernelFunc(args as Parameters<KernelFunc>[0]) as TensorInfo;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let stockIdentity: KernelConfig | undefined;

export function installIdentity(): void {
  stockIdentity ??= tf.getKernel('Identity', 'wasm');
  if (!stockIdentity) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: sharedIdentity as unknown as KernelFunc,
  });
}

export function restoreStockIdentity(): void {
  if (!stockIdentity) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel(stockIdentity);
}
