import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { guardWasmMemory } from '../backend/wasm-memory.js';

/**
 * The parts of @tensorflow/tfjs-backend-wasm's `BackendWasm` the kernels use (it keeps them public in JS but
 * types them loosely): every tensor lives at `memoryOffset` bytes in one wasm memory, under an integer id that
 * the C++ side uses.
 */
export interface WasmTensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: string;
  refCount: number;
}

export interface WasmModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  cwrap(name: string, ret: null | 'number', args: string[]): (...args: unknown[]) => unknown;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
}

export interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: DataId): WasmTensorData; has(dataId: DataId): boolean };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): TensorInfo;
  disposeData(dataId: DataId, force?: boolean): boolean;
}

/**
 * The wasm backend when it is the active one, else null. Its heap is guarded (`guardWasmMemory`): an allocation
 * that cannot be had throws `out_of_memory` rather than placing a tensor at address 0.
 */
export function activeWasmBackend(): WasmBackend | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as WasmBackend;
  guardWasmMemory(backend.wasm);
  return backend;
}

/** Offset of a float32 tensor in wasm memory, in floats. */
export function floatOffset(backend: WasmBackend, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset / 4;
}

/** A Float32Array over a tensor's data inside wasm memory (valid until the memory grows: re-fetch per use). */
export function heapF32(backend: WasmBackend, t: TensorInfo): Float32Array {
  const { memoryOffset } = backend.dataIdMap.get(t.dataId);
  return new Float32Array(backend.wasm.HEAPU8.buffer, memoryOffset, sizeOf(t.shape));
}

/** An Int32Array over an int32 tensor's data inside wasm memory. */
export function heapI32(backend: WasmBackend, t: TensorInfo): Int32Array {
  const { memoryOffset } = backend.dataIdMap.get(t.dataId);
  return new Int32Array(backend.wasm.HEAPU8.buffer, memoryOffset, sizeOf(t.shape));
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const heapViews = new WeakMap<object, Float32Array>();

/**
 * All of wasm memory as one Float32Array, for the native addon. A typed array rather than the buffer itself,
 * because the threaded wasm binary's memory is a SharedArrayBuffer, which N-API takes only through a view.
 * Re-created when memory growth replaces the buffer.
 */
export function heapView(backend: WasmBackend): Float32Array {
  const buffer = backend.wasm.HEAPU8.buffer;
  let view = heapViews.get(backend.wasm);
  if (!view || view.buffer !== buffer) {
    view = new Float32Array(buffer);
    heapViews.set(backend.wasm, view);
  }
  return view;
}

/** A new float32 tensor whose data the caller fills in wasm memory (e.g. through the native addon). */
export function allocate(backend: WasmBackend, shape: number[]): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo(backend.makeOutput(shape, 'float32'));
}
