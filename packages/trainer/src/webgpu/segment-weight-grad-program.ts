import type * as tf from '@tensorflow/tfjs-core';
import { flatDispatch, registerWgslKernel, type WgslProgram } from './webgpu-program.js';

/** Kernel name of the per-adapter weight gradient on the webgpu backend. */
export const SEGMENT_WEIGHT_GRAD_KERNEL = 'OppuSegmentWeightGrad';

export interface SegmentWeightGradAttrs extends tf.NamedAttrMap {
  scale: number;
  /** Number of adapters n (the output's first dimension). */
  adapters: number;
}

/**
 * The weight gradient of a segmented (or per-row) gather-matmul: each adapter receives the sum over the rows
 * routed to it, and nothing from other rows.
 *
 *   out[a] = scale · sum over segments s with ids[s] = a of X[seg]^T · G[seg]
 *   X [rows, K], G [rows, N], offsets int32 [S+1], ids int32 [S]  ->  [n, K, N]
 *
 * dA = x^T·gB and dB = h^T·g of the LoRA kernels, per adapter (BGMV passes one segment per row). One thread per
 * output element; adapters absent from the batch get zeros.
 */
class SegmentWeightGradProgram implements WgslProgram {
  outputShape: number[];
  shaderKey = 'oppuSegmentWeightGrad';
  dispatchLayout = { x: [0, 1, 2] };
  dispatch: [number, number, number];
  variableNames = ['X', 'G', 'Offsets', 'Ids'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  uniforms = 'scale : f32,';
  size = true;

  constructor(adapters: number, k: number, n: number) {
    this.outputShape = [adapters, k, n];
    this.dispatch = flatDispatch(adapters * k * n, 64);
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let kDim = uniforms.xShape.y;
          let nDim = uniforms.gShape.y;
          let a = index / (kDim * nDim);
          let rest = index - a * kDim * nDim;
          let k = rest / nDim;
          let j = rest - k * nDim;
          var sum = 0.0;
          for (var s = 0; s < uniforms.idsShape; s = s + 1) {
            if (Ids[s] == a) {
              for (var row = Offsets[s]; row < Offsets[s + 1]; row = row + 1) {
                sum = sum + X[row * kDim + k] * G[row * nDim + j];
              }
            }
          }
          result[index] = uniforms.scale * sum;
        }
      }
    `;
  }
}

/** Registers the kernel (inputs x, g, offsets, ids) for the webgpu backend; idempotent. */
export function registerSegmentWeightGradKernel(): void {
  registerWgslKernel<SegmentWeightGradAttrs>(
    SEGMENT_WEIGHT_GRAD_KERNEL,
    ['x', 'g', 'offsets', 'ids'],
    ([x, g], attrs) => ({
      program: new SegmentWeightGradProgram(attrs.adapters, x!.shape[1]!, g!.shape[1]!),
      uniforms: [{ type: 'float32', data: [attrs.scale] }],
    }),
  );
}
