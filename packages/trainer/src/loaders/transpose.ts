/** Row-major [rows, cols] -> [cols, rows], on the host (checkpoints store [out, in]; the model wants [in, out]). */
export function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = a[base + c] as number;
  }
  return out;
}
