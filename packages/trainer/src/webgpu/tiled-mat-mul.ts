import type { WgslProgram } from './webgpu-program.js';

/**
 * The WGSL of a tiled matrix product, shared by the fused LoRA linear and the SGMV kernels: a workgroup of
 * 8x8 threads computes a 32x32 block of the output, each thread a 4x4 register tile (four vec4 rows), stepping
 * through the inner dimension 32 at a time with both operand tiles staged in workgroup memory as vec4s (as
 * tfjs-backend-webgpu's own packed matMul does). The caller supplies `loadA(row, k)` and `loadB(k, col)`
 * (returning 0 outside the operands, so the inner loop has no bounds checks), and `loadA4`/`loadB4`
 * (four consecutive k of a row of A, four consecutive columns of a row of B: one bounds check for the four).
 *
 *   out[row0 + i, col0 + j] = sum_k loadA(row0 + i, k) * loadB(k, col0 + j)
 */
export const TILE_M = 32;
export const TILE_N = 32;
export const TILE_K = 32;
export const TILE_WORKGROUP: [number, number, number] = [8, 8, 1];

/** Workgroup tiles, declared once per shader. */
export const tileDeclarations = `
  var<workgroup> tileA : array<array<vec4<f32>, ${TILE_K / 4}>, ${TILE_M}>; // [row][k / 4]
  var<workgroup> tileB : array<array<vec4<f32>, ${TILE_N / 4}>, ${TILE_K}>; // [k][col / 4]
`;

/**
 * Statements that add sum_k loadA·loadB over k in [0, kTotal) into `acc` (a `var acc : array<vec4<f32>, 4>`
 * declared by the caller: acc[i] holds columns tc..tc+3 of row tr + i), for the block whose corner is
 * (row0, col0). `kTotal` must be uniform (the loop holds barriers).
 */
export function accumulateTiles(kTotal: string): string {
  const perThread = (TILE_M * TILE_K) / 4 / 64; // vec4s of each tile loaded per thread
  return `
    for (var t = 0; t < ${kTotal}; t = t + ${TILE_K}) {
      for (var e = 0; e < ${perThread}; e = e + 1) {
        let idx = i32(localIndex) + 64 * e;
        let ar = idx / ${TILE_K / 4};
        let ak = idx - ar * ${TILE_K / 4};
        tileA[ar][ak] = loadA4(row0 + ar, t + 4 * ak);
        let bk = idx / ${TILE_N / 4};
        let bc = idx - bk * ${TILE_N / 4};
        tileB[bk][bc] = loadB4(t + bk, col0 + 4 * bc);
      }
      workgroupBarrier();
      for (var k4 = 0; k4 < ${TILE_K / 4}; k4 = k4 + 1) {
        let b0 = tileB[4 * k4][tc4];
        let b1 = tileB[4 * k4 + 1][tc4];
        let b2 = tileB[4 * k4 + 2][tc4];
        let b3 = tileB[4 * k4 + 3][tc4];
        for (var i = 0; i < 4; i = i + 1) {
          let a = tileA[tr + i][k4];
          acc[i] = acc[i] + b0 * a.x + b1 * a.y + b2 * a.z + b3 * a.w;
        }
      }
      workgroupBarrier();
    }
  `;
}

/** The thread's place in its block: `row0`/`col0` (block corner), `tr` (first of its 4 rows), `tc4` (its vec4 column). */
export const tileCoordinates = `
    let row0 = i32(workgroupId.y) * ${TILE_M};
    let col0 = i32(workgroupId.x) * ${TILE_N};
    let tr = i32(localId.y) * 4;
    let tc4 = i32(localId.x);
`;

/** Writes `scale * acc` to result[rows, cols] (row-major), skipping the block's part outside the output. */
export function storeTile(rows: string, cols: string, scale: string): string {
  return `
    for (var i = 0; i < 4; i = i + 1) {
      let r = row0 + tr + i;
      let v = ${scale} * acc[i];
      for (var j = 0; j < 4; j = j + 1) {
        let c = col0 + 4 * tc4 + j;
        if (r < ${rows} && c < ${cols}) {
          result[r * ${cols} + c] = v[j];
        }
      }
    }
  `;
}

/** Workgroups for an output of rows x cols. */
export function tileDispatch(rows: number, cols: number): [number, number, number] {
  return [Math.ceil(cols / TILE_N), Math.ceil(rows / TILE_M), 1];
}

/**
 * What every tiled product program sets the same way: a [rows, cols] output, one 8x8 workgroup per 32x32 block
 * of it, and the `scale` uniform. A program adds its `shaderKey`, `variableNames` and `getUserCode`.
 */
export abstract class TiledProgram implements WgslProgram {
  outputShape: number[];
  dispatchLayout = { x: [1], y: [0] };
  dispatch: [number, number, number];
  workgroupSize = TILE_WORKGROUP;
  uniforms = 'scale : f32,';
  abstract shaderKey: string;
  abstract variableNames: string[];

  constructor(rows: number, cols: number) {
    this.outputShape = [rows, cols];
    this.dispatch = tileDispatch(rows, cols);
  }

  abstract getUserCode(): string;
}
