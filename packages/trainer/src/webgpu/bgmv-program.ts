import type * as tf from '@tensorflow/tfjs-core';
import { flatDispatch, registerWgslKernel, type WgslProgram } from './webgpu-program.js';

/** Kernel name of the per-row gather-matmul (BGMV) on the webgpu backend. */
export const BGMV_KERNEL = 'OppuBgmv';

export interface BgmvAttrs extends tf.NamedAttrMap {
  scale: number;
  /** W is given as [n, N, K] (use each W[a]^T). */
  transposeW: boolean;
  /** 'shrink': K is large and N small (x·A, g·B^T); 'expand': K is the rank (h·B, gB·A^T). */
  mode: 'shrink' | 'expand';
}

const REDUCE = 64; // threads that share one output of a shrink

/**
 * BGMV (Punica): every row its own adapter, as in decoding a batch of users one token each.
 *
 *   out[row] = scale · X[row] · W[ids[row]]     X [rows, K], W [n, K, N], ids int32 [rows] -> [rows, N]
 *
 * Two shapes of work. Shrink (K = d_model, N = r: a handful of outputs, each a long dot product): one workgroup
 * of 64 threads per output splits the dot product and adds the parts in workgroup memory, so a batch of a few
 * rows still fills the GPU. Expand (K = r, N = d_model: many outputs, each r terms): one thread per output.
 * An id outside [0, n) gives a zero row ("no adapter").
 */
class BgmvProgram implements WgslProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[] };
  dispatch: [number, number, number];
  variableNames = ['X', 'W', 'Ids'];
  workgroupSize: [number, number, number];
  uniforms = 'scale : f32,';
  size: boolean;
  private readonly transposeW: boolean;
  private readonly mode: 'shrink' | 'expand';

  constructor(rows: number, cols: number, transposeW: boolean, mode: 'shrink' | 'expand') {
    this.outputShape = [rows, cols];
    this.transposeW = transposeW;
    this.mode = mode;
    this.shaderKey = `oppuBgmv_${mode}_${transposeW}`;
    if (mode === 'shrink') {
      // one workgroup per output: x = column, y = row
      this.dispatchLayout = { x: [1], y: [0] };
      this.dispatch = [cols, rows, 1];
      this.workgroupSize = [REDUCE, 1, 1];
      this.size = false;
    } else {
      this.dispatchLayout = { x: [0, 1] };
      this.dispatch = flatDispatch(rows * cols, 64);
      this.workgroupSize = [64, 1, 1];
      this.size = true;
    }
  }

  getUserCode(): string {
    const w = this.transposeW ? 'W[(id * cols + col) * kDim + k]' : 'W[(id * kDim + k) * cols + col]';
    if (this.mode === 'shrink') {
      return `
        var<workgroup> partial : array<f32, ${REDUCE}>;
        fn main() {
          let col = i32(workgroupId.x);
          let row = i32(workgroupId.y);
          let kDim = uniforms.xShape.y;
          let cols = uniforms.outShape.y;
          let id = Ids[row];
          var sum = 0.0;
          if (id >= 0 && id < uniforms.wShape.x) {
            for (var k = i32(localIndex); k < kDim; k = k + ${REDUCE}) {
              sum = sum + X[row * kDim + k] * ${w};
            }
          }
          partial[localIndex] = sum;
          workgroupBarrier();
          for (var stride = ${REDUCE / 2}u; stride > 0u; stride = stride / 2u) {
            if (localIndex < stride) {
              partial[localIndex] = partial[localIndex] + partial[localIndex + stride];
            }
            workgroupBarrier();
          }
          if (localIndex == 0u) {
            result[row * cols + col] = uniforms.scale * partial[0];
          }
        }
      `;
    }
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let kDim = uniforms.xShape.y;
          let cols = uniforms.outShape.y;
          let row = index / cols;
          let col = index - row * cols;
          let id = Ids[row];
          var sum = 0.0;
          if (id >= 0 && id < uniforms.wShape.x) {
            for (var k = 0; k < kDim; k = k + 1) {
              sum = sum + X[row * kDim + k] * ${w};
            }
          }
          result[index] = uniforms.scale * sum;
        }
      }
    `;
  }
}

/** Registers the kernel (inputs x, w, ids) for the webgpu backend; idempotent. */
export function registerBgmvKernel(): void {
  registerWgslKernel<BgmvAttrs>(BGMV_KERNEL, ['x', 'w', 'ids'], ([x, w], attrs) => {
    const rows = x!.shape[0]!;
    if (attrs.mode === 'shrink' && rows > 65535) {
      throw new Error(`bgmv: ${rows} rows is more than one dispatch holds (65535): use sgmv for prefill`);
    }
    const cols = attrs.transposeW ? w!.shape[1]! : w!.shape[2]!;
    return {
      program: new BgmvProgram(rows, cols, attrs.transposeW, attrs.mode),
      uniforms: [{ type: 'float32', data: [attrs.scale] }],
    };
  });
}
