import type * as tf from '@tensorflow/tfjs-core';
import {
  accumulateTiles,
  storeTile,
  TILE_M,
  TiledProgram,
  tileCoordinates,
  tileDeclarations,
} from './tiled-mat-mul.js';
import { registerWgslKernel } from './webgpu-program.js';

/** Kernel name of the segmented gather-matmul (SGMV) on the webgpu backend. */
export const SEGMENT_MAT_MUL_KERNEL = 'OppuSegmentMatMul';

export interface SegmentMatMulAttrs extends tf.NamedAttrMap {
  scale: number;
  /** W is given as [n, N, K] (use each W[a]^T). */
  transposeW: boolean;
}

/**
 * SGMV (Punica, S-LoRA): rows come in contiguous segments, segment s = rows [offsets[s], offsets[s+1]) uses
 * adapter ids[s]:
 *
 *   out[row] = scale · X[row] · W[ids[s]]     X [rows, K], W [n, K, N], offsets int32 [S+1], ids int32 [S]
 *
 * A 32-row block of the output walks over the (usually one or two) segments it overlaps; for each it stages
 * that adapter's W tiles in workgroup memory once for all its rows, so an adapter's weights are read once per
 * block, not once per row (the point of SGMV over BGMV for prefill and training). Rows of other segments load
 * as zeros. An id outside [0, n) gives zero rows ("no adapter").
 */
class SegmentMatMulProgram extends TiledProgram {
  shaderKey: string;
  variableNames = ['X', 'W', 'Offsets', 'Ids'];
  private readonly transposeW: boolean;

  constructor(rows: number, cols: number, transposeW: boolean) {
    super(rows, cols);
    this.transposeW = transposeW;
    this.shaderKey = `oppuSegmentMatMul_${transposeW}`;
  }

  getUserCode(): string {
    const w = this.transposeW ? 'W[(segId * cols + col) * kDim + k]' : 'W[(segId * kDim + k) * cols + col]';
    return `
      ${tileDeclarations}
      var<workgroup> segRange : vec2<i32>;
      var<private> segStart : i32;
      var<private> segEnd : i32;
      var<private> segId : i32;

      // The segment holding row: the largest s with offsets[s] <= row (empty segments are skipped over).
      fn segmentOf(row : i32) -> i32 {
        var lo = 0;
        var hi = uniforms.idsShape - 1;
        while (lo < hi) {
          let mid = (lo + hi + 1) / 2;
          if (Offsets[mid] <= row) { lo = mid; } else { hi = mid - 1; }
        }
        return lo;
      }
      fn loadA(row : i32, k : i32) -> f32 {
        let kDim = uniforms.xShape.y;
        if (row < segStart || row >= segEnd || k >= kDim) { return 0.0; }
        return X[row * kDim + k];
      }
      fn loadB(k : i32, col : i32) -> f32 {
        let kDim = uniforms.xShape.y;
        let cols = uniforms.outShape.y;
        if (segId < 0 || segId >= uniforms.wShape.x || k >= kDim || col >= cols) { return 0.0; }
        return ${w};
      }
      fn loadA4(row : i32, k : i32) -> vec4<f32> {
        let kDim = uniforms.xShape.y;
        if (row >= segStart && row < segEnd && k + 3 < kDim) {
          let i = row * kDim + k;
          return vec4<f32>(X[i], X[i + 1], X[i + 2], X[i + 3]);
        }
        return vec4<f32>(loadA(row, k), loadA(row, k + 1), loadA(row, k + 2), loadA(row, k + 3));
      }
      fn loadB4(k : i32, col : i32) -> vec4<f32> {
        let kDim = uniforms.xShape.y;
        let cols = uniforms.outShape.y;
        if (segId >= 0 && segId < uniforms.wShape.x && k < kDim && col + 3 < cols) {
          ${
            this.transposeW
              ? `let i = (segId * cols + col) * kDim + k;
          return vec4<f32>(W[i], W[i + kDim], W[i + 2 * kDim], W[i + 3 * kDim]);`
              : `let i = (segId * kDim + k) * cols + col;
          return vec4<f32>(W[i], W[i + 1], W[i + 2], W[i + 3]);`
          }
        }
        return vec4<f32>(loadB(k, col), loadB(k, col + 1), loadB(k, col + 2), loadB(k, col + 3));
      }
      fn main() {
        ${tileCoordinates}
        if (localIndex == 0u) {
          let last = min(row0 + ${TILE_M - 1}, uniforms.outShape.x - 1);
          segRange = vec2<i32>(segmentOf(row0), segmentOf(last));
        }
        let range = workgroupUniformLoad(&segRange);
        var acc : array<vec4<f32>, 4>;
        for (var s = range.x; s <= range.y; s = s + 1) {
          segStart = Offsets[s];
          segEnd = Offsets[s + 1];
          segId = Ids[s];
          ${accumulateTiles('uniforms.xShape.y')}
        }
        ${storeTile('uniforms.outShape.x', 'uniforms.outShape.y', 'uniforms.scale')}
      }
    `;
  }
}

/** Registers the kernel (inputs x, w, offsets, ids) for the webgpu backend; idempotent. */
export function registerSegmentMatMulKernel(): void {
  registerWgslKernel<SegmentMatMulAttrs>(
    SEGMENT_MAT_MUL_KERNEL,
    ['x', 'w', 'offsets', 'ids'],
    ([x, w], attrs) => {
      const cols = attrs.transposeW ? w!.shape[1]! : w!.shape[2]!;
      return {
        program: new SegmentMatMulProgram(x!.shape[0]!, cols, attrs.transposeW),
        uniforms: [{ type: 'float32', data: [attrs.scale] }],
      };
    },
  );
}
