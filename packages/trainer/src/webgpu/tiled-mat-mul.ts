/**
 * The WGSL of a tiled matrix product, shared by the fused LoRA linear and the SGMV kernels: a workgroup of
 * 8x8 threads computes a 32x32 block of the output, each thread a 4x4 register tile, stepping through the
 * inner dimension 16 at a time with both operand tiles staged in workgroup memory. The caller supplies
 * `loadA(row, k)` and `loadB(k, col)` (returning 0 outside the operands, so no bounds checks in the inner loop).
 *
 *   out[row0 + i, col0 + j] = sum_k loadA(row0 + i, k) * loadB(k, col0 + j)
 */
export const TILE_M = 32;
export const TILE_N = 32;
export const TILE_K = 16;
export const TILE_WORKGROUP: [number, number, number] = [8, 8, 1];

/** Workgroup tiles and the 4x4 accumulator: declared once per shader. */
export const tileDeclarations = `
  var<workgroup> tileA : array<array<f32, ${TILE_K}>, ${TILE_M}>; // [row][k]
  var<workgroup> tileB : array<array<f32, ${TILE_N}>, ${TILE_K}>; // [k][col]
`;

/**
 * Statements that add sum_k loadA·loadB over k in [0, kTotal) into `acc` (a `var acc : array<array<f32, 4>, 4>`
 * declared by the caller), for the block whose corner is (row0, col0). `kTotal` must be uniform (barriers).
 */
export function accumulateTiles(kTotal: string): string {
  const loads = (TILE_M * TILE_K) / 64; // elements of each tile loaded per thread
  return `
    for (var t = 0; t < ${kTotal}; t = t + ${TILE_K}) {
      for (var e = 0; e < ${loads}; e = e + 1) {
        let idx = i32(localIndex) + 64 * e;
        let ar = idx / ${TILE_K};
        let ak = idx - ar * ${TILE_K};
        tileA[ar][ak] = loadA(row0 + ar, t + ak);
        let bk = idx / ${TILE_N};
        let bc = idx - bk * ${TILE_N};
        tileB[bk][bc] = loadB(t + bk, col0 + bc);
      }
      workgroupBarrier();
      for (var k = 0; k < ${TILE_K}; k = k + 1) {
        let b = vec4<f32>(tileB[k][tc], tileB[k][tc + 1], tileB[k][tc + 2], tileB[k][tc + 3]);
        for (var i = 0; i < 4; i = i + 1) {
          let a = tileA[tr + i][k];
          acc[i][0] = acc[i][0] + a * b.x;
          acc[i][1] = acc[i][1] + a * b.y;
          acc[i][2] = acc[i][2] + a * b.z;
          acc[i][3] = acc[i][3] + a * b.w;
        }
      }
      workgroupBarrier();
    }
  `;
}

/** The thread's place in its block: `row0`/`col0` (block corner), `tr`/`tc` (its 4x4 tile within the block). */
export const tileCoordinates = `
    let row0 = i32(workgroupId.y) * ${TILE_M};
    let col0 = i32(workgroupId.x) * ${TILE_N};
    let tr = i32(localId.y) * 4;
    let tc = i32(localId.x) * 4;
`;

/** Writes `scale * acc` to result[rows, cols] (row-major), skipping the block's part outside the output. */
export function storeTile(rows: string, cols: string, scale: string): string {
  return `
    for (var i = 0; i < 4; i = i + 1) {
      for (var j = 0; j < 4; j = j + 1) {
        let r = row0 + tr + i;
        let c = col0 + tc + j;
        if (r < ${rows} && c < ${cols}) {
          result[r * ${cols} + c] = ${scale} * acc[i][j];
        }
      }
    }
  `;
}

/** Workgroups for an output of rows x cols. */
export function tileDispatch(rows: number, cols: number): [number, number, number] {
  return [Math.ceil(cols / TILE_N), Math.ceil(rows / TILE_M), 1];
}
