import '@tensorflow/tfjs-backend-wasm';
import type {
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernels, useNative } from './native.js';
import { floatOffset, heapView, sizeOf, type WasmBackend } from './wasm-heap.js';

/**
 * BatchMatMul for the wasm backend that stays on a fast path for every layout.
 *
 * Stock tfjs-backend-wasm 4.22 uses XNNPACK only when neither operand is transposed and the batch is 1; all
 * gradient matMuls (x^T·dy, dy·W^T) and attention's batched matMuls fall back to a scalar triple loop
 * (1-2 GFLOP/s). Two replacements:
 * - 'native': the addon's blocked AVX-512/AVX2 SGEMM runs directly on the operands inside wasm memory (strides
 *   express the transposes, batch stride 0 broadcasts), on the addon's thread pool. No copy.
 * - 'wasm': when the addon is absent. Transposed operands are transposed explicitly (wasm Transpose kernel),
 *   then XNNPACK runs once per batch entry on views of wasm memory (temporary tensor ids registered at offsets
 *   inside the operands). A batch-broadcast B becomes one call with the batch folded into rows.
 */
export type MatMulMode = 'native' | 'wasm' | 'stock';

interface MatMulGeometry {
  m: number;
  n: number;
  k: number;
  batchA: number;
  batchB: number;
  outShape: number[];
}

/** Shapes of a BatchMatMul, or null where the layout needs the stock kernel (general outer-dim broadcasts). */
function geometry(
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): MatMulGeometry | null {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb) {
    throw new Error(
      `matMul: inner shapes ${k} and ${kb} of tensors with shapes [${a.shape}] and [${b.shape}] ` +
        `(transposeA=${transposeA}, transposeB=${transposeB}) must match`,
    );
  }
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  let outer: number[];
  if (batchB === 1 && outerA.length >= outerB.length) outer = outerA;
  else if (batchA === 1 && outerB.length >= outerA.length) outer = outerB;
  else if (outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i])) outer = outerA;
  else return null;
  return { m, n, k, batchA, batchB, outShape: [...outer, m, n] };
}

const params = new Float64Array(17);

function nativeBatchMatMul(args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }) {
  const backend = args.backend as WasmBackend;
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const g = a.dtype === 'float32' && b.dtype === 'float32' ? geometry(a, b, transposeA, transposeB) : null;
  if (!g) return stockKernel(backend)(args as Parameters<KernelFunc>[0]) as TensorInfo;
  const { m, n, k, batchA, batchB } = g;
  const batch = Math.max(batchA, batchB);
  // Allocate first: malloc can grow wasm memory, which replaces HEAPU8.buffer.
  const out = backend.makeOutput(g.outShape, 'float32');
  const heap = heapView(backend);
  params[0] = batch;
  params[1] = m;
  params[2] = n;
  params[3] = k;
  params[4] = floatOffset(backend, a);
  params[5] = transposeA ? 1 : k; // A(i, p) row stride
  params[6] = transposeA ? m : 1; // A(i, p) column stride
  params[7] = batchA === 1 ? 0 : m * k;
  params[8] = floatOffset(backend, b);
  params[9] = transposeB ? 1 : n; // B(p, j) row stride
  params[10] = transposeB ? k : 1;
  params[11] = batchB === 1 ? 0 : k * n;
  params[12] = floatOffset(backend, out);
  params[13] = n;
  params[14] = m * n;
  params[15] = 1;
  params[16] = 0;
  nativeKernels()!.gemm(heap, heap, heap, params);
  return out;
}

type BatchMatMulFn = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: boolean,
  transposeB: boolean,
  outId: number,
) => void;
const wasmFns = new WeakMap<object, BatchMatMulFn>();

function wasmMatMulFn(backend: WasmBackend): BatchMatMulFn {
  let fn = wasmFns.get(backend.wasm);
  if (!fn) {
    const types = ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number'];
    fn = backend.wasm.cwrap('BatchMatMul', null, types) as BatchMatMulFn;
    wasmFns.set(backend.wasm, fn);
  }
  return fn;
}

const shapeBytes = (s: number[]) => new Uint8Array(new Int32Array(s).buffer);

function transposeLast2(backend: WasmBackend, x: TensorInfo, batch: number, rows: number, cols: number) {
  const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
  const x3: TensorInfo = { dataId: x.dataId, shape: [batch, rows, cols], dtype: x.dtype };
  return transpose({
    inputs: { x: x3 },
    backend: backend as never,
    attrs: { perm: [0, 2, 1] },
  }) as TensorInfo;
}

function wasmBatchMatMul(args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }) {
  const backend = args.backend as WasmBackend;
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const g = a.dtype === 'float32' && b.dtype === 'float32' ? geometry(a, b, transposeA, transposeB) : null;
  if (!g) return stockKernel(backend)(args as Parameters<KernelFunc>[0]) as TensorInfo;
  const { m, n, k, batchA, batchB } = g;
  const batch = Math.max(batchA, batchB);
  const fn = wasmMatMulFn(backend);
  // Row-major [batch, m, k] and [batch, k, n] operands, transposing where needed.
  const at = transposeA ? transposeLast2(backend, a, batchA, k, m) : a;
  const bt = transposeB ? transposeLast2(backend, b, batchB, n, k) : b;
  const out = backend.makeOutput(g.outShape, 'float32');
  const aId = backend.dataIdMap.get(at.dataId).id;
  const bId = backend.dataIdMap.get(bt.dataId).id;
  const outId = backend.dataIdMap.get(out.dataId).id;
  if (batchB === 1) {
    // One weight matrix for the whole batch: fold the batch into rows, one XNNPACK call.
    fn(aId, shapeBytes([1, batchA * m, k]), 3, bId, shapeBytes([1, k, n]), 3, false, false, outId);
  } else {
    // One XNNPACK call per batch entry, on temporary tensor ids that view slices of the operands.
    const aBase = backend.dataIdMap.get(at.dataId).memoryOffset;
    const bBase = backend.dataIdMap.get(bt.dataId).memoryOffset;
    const oBase = backend.dataIdMap.get(out.dataId).memoryOffset;
    const aShape = shapeBytes([1, m, k]);
    const bShape = shapeBytes([1, k, n]);
    for (let i = 0; i < batch; i++) {
      const va = batchA === 1 ? aId : backend.dataIdNextNumber++;
      const vb = backend.dataIdNextNumber++;
      const vo = backend.dataIdNextNumber++;
      if (batchA !== 1) backend.wasm.tfjs.registerTensor(va, m * k, aBase + 4 * i * m * k);
      backend.wasm.tfjs.registerTensor(vb, k * n, bBase + 4 * i * k * n);
      backend.wasm.tfjs.registerTensor(vo, m * n, oBase + 4 * i * m * n);
      fn(va, aShape, 3, vb, bShape, 3, false, false, vo);
      // Disposing the weight view also frees the XNNPACK operator cached for it.
      if (batchA !== 1) backend.wasm.tfjs.disposeData(va);
      backend.wasm.tfjs.disposeData(vb);
      backend.wasm.tfjs.disposeData(vo);
    }
  }
  if (at !== a) backend.disposeData(at.dataId);
  if (bt !== b) backend.disposeData(bt.dataId);
  return out;
}

let stock: KernelConfig | undefined;
let mode: MatMulMode = 'stock';

const setUp = new WeakSet<object>();

/** The stock kernel, with its setup run on `backend` (it is skipped when ours was registered at init). */
function stockKernel(backend?: unknown): KernelFunc {
  const config = stock ?? tf.getKernel('BatchMatMul', 'wasm')!;
  const b = (backend ?? tf.findBackend('wasm')) as object | null;
  if (b && config.setupFunc && !setUp.has(b)) {
    config.setupFunc(b as never);
    setUp.add(b);
  }
  return config.kernelFunc;
}

/**
 * Replaces the wasm backend's BatchMatMul with the native kernel (when the addon loads and `native` is not
 * false) or the XNNPACK-per-batch kernel. Returns the mode now active. Idempotent; `restoreStockMatMul` undoes.
 */
export function installMatMul(options: { native?: boolean } = {}): MatMulMode {
  stock ??= tf.getKernel('BatchMatMul', 'wasm');
  if (!stock)
    throw new Error(
      'installMatMul: the wasm backend is not registered (import @tensorflow/tfjs-backend-wasm)',
    );
  useNative(options.native !== false); // the other kernels follow the same choice
  const next: MatMulMode = nativeKernels() ? 'native' : 'wasm';
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    kernelFunc: (next === 'native' ? nativeBatchMatMul : wasmBatchMatMul) as unknown as KernelFunc,
  });
  mode = next;
  return mode;
}

/** Puts tfjs-backend-wasm's own BatchMatMul back (for comparisons). */
export function restoreStockMatMul(): void {
  if (!stock) return;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel(stock);
  stockKernel();
  mode = 'stock';
}

/** Which BatchMatMul the wasm backend runs now. */
export function matMulMode(): MatMulMode {
  return mode;
}
