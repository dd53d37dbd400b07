import type * as tf from '@tensorflow/tfjs-core';
import {
  accumulateTiles,
  storeTile,
  TiledProgram,
  tileCoordinates,
  tileDeclarations,
} from './tiled-mat-mul.js';
import { registerWgslKernel } from './webgpu-program.js';

/** Kernel name of the fused LoRA linear on the webgpu backend. */
export const LORA_LINEAR_KERNEL = 'OppuLoraLinear';

export interface LoraLinearAttrs extends tf.NamedAttrMap {
  scale: number;
  /** W is given as [out, in] (use W^T). */
  transposeW: boolean;
  /** B is given as [out, r] (use B^T). */
  transposeB: boolean;
}

/**
 * y = x·W + scale·h·B in one pass, as one product over the concatenated inner dimension:
 *
 *   [x | scale·h] [rows, in + r]  ·  [W ; B] [in + r, out]
 *
 * X [rows, in], W [in, out], H [rows, r] (= x·A, computed before), B [r, out] -> [rows, out]. No [rows, out]
 * temporary for x·W or h·B, and one store per output. The transposed forms serve the backward pass:
 * dx = g·W^T + gB·A^T is the same program with X = g, W, H = gB, B = A and both transposes set.
 */
class LoraLinearProgram extends TiledProgram {
  shaderKey: string;
  variableNames = ['X', 'W', 'H', 'B'];
  variableComponents: number[] | undefined;
  private readonly transposeW: boolean;
  private readonly transposeB: boolean;
  /** X and W bound as vec4 arrays: W untransposed and in, out multiples of 4 (the usual case). */
  private readonly vec4: boolean;

  constructor(rows: number, inDim: number, out: number, transposeW: boolean, transposeB: boolean) {
    super(rows, out);
    this.transposeW = transposeW;
    this.transposeB = transposeB;
    this.vec4 = !transposeW && inDim % 4 === 0 && out % 4 === 0;
    this.variableComponents = this.vec4 ? [4, 4, 1, 1] : undefined;
    this.shaderKey = `oppuLoraLinear_${transposeW}_${transposeB}_${this.vec4}`;
  }

  getUserCode(): string {
    const x = (i: string) => (this.vec4 ? `X[(${i}) / 4][(${i}) % 4]` : `X[${i}]`);
    const w = this.transposeW
      ? 'W[col * inDim + k]'
      : this.vec4
        ? 'W[(k * outDim + col) / 4][col % 4]'
        : 'W[k * outDim + col]';
    const b = this.transposeB ? 'B[col * r + j]' : 'B[j * outDim + col]';
    return `
      ${tileDeclarations}
      fn loadA(row : i32, k : i32) -> f32 {
        let inDim = uniforms.xShape.y;
        let r = uniforms.hShape.y;
        if (row >= uniforms.outShape.x) { return 0.0; }
        if (k < inDim) { return ${x('row * inDim + k')}; }
        if (k < inDim + r) { return uniforms.scale * H[row * r + (k - inDim)]; }
        return 0.0;
      }
      fn loadB(k : i32, col : i32) -> f32 {
        let inDim = uniforms.xShape.y;
        let r = uniforms.hShape.y;
        let outDim = uniforms.outShape.y;
        if (col >= outDim) { return 0.0; }
        if (k < inDim) { return ${w}; }
        let j = k - inDim;
        if (j < r) { return ${b}; }
        return 0.0;
      }
      fn loadA4(row : i32, k : i32) -> vec4<f32> {
        let inDim = uniforms.xShape.y;
        if (row < uniforms.outShape.x && k + 3 < inDim) {
          ${
            this.vec4
              ? 'return X[(row * inDim + k) / 4]; // k is a multiple of 4'
              : `let i = row * inDim + k;
          return vec4<f32>(X[i], X[i + 1], X[i + 2], X[i + 3]);`
          }
        }
        return vec4<f32>(loadA(row, k), loadA(row, k + 1), loadA(row, k + 2), loadA(row, k + 3));
      }
      fn loadB4(k : i32, col : i32) -> vec4<f32> {
        let inDim = uniforms.xShape.y;
        let outDim = uniforms.outShape.y;
        if (k < inDim && col + 3 < outDim) {
          ${
            this.transposeW
              ? 'return vec4<f32>(W[col * inDim + k], W[(col + 1) * inDim + k], W[(col + 2) * inDim + k], W[(col + 3) * inDim + k]);'
              : this.vec4
                ? 'return W[(k * outDim + col) / 4]; // col is a multiple of 4'
                : `let i = k * outDim + col;
          return vec4<f32>(W[i], W[i + 1], W[i + 2], W[i + 3]);`
          }
        }
        return vec4<f32>(loadB(k, col), loadB(k, col + 1), loadB(k, col + 2), loadB(k, col + 3));
      }
      fn main() {
        ${tileCoordinates}
        var acc : array<vec4<f32>, 4>;
        ${accumulateTiles('uniforms.xShape.y + uniforms.hShape.y')}
        ${storeTile('uniforms.outShape.x', 'uniforms.outShape.y', '1.0')}
      }
    `;
  }
}

/** Registers the kernel (inputs x, w, h, b) for the webgpu backend; idempotent. */
export function registerLoraLinearKernel(): void {
  registerWgslKernel<LoraLinearAttrs>(LORA_LINEAR_KERNEL, ['x', 'w', 'h', 'b'], ([x, w], attrs) => {
    const rows = x!.shape[0]!;
    const out = attrs.transposeW ? w!.shape[0]! : w!.shape[1]!;
    return {
      program: new LoraLinearProgram(rows, x!.shape[1]!, out, attrs.transposeW, attrs.transposeB),
      uniforms: [{ type: 'float32', data: [attrs.scale] }],
    };
  });
}
