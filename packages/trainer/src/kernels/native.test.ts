import { describe, expect, it } from 'vitest';
import { nativeKernels, nativeStatus } from './native.js';

/** float64 reference of C = A·B with A (i, p) = a[i*ars + p*acs], B (p, j) = b[p*brs + j*bcs]. */
function reference(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  ars: number,
  acs: number,
  b: Float32Array,
  brs: number,
  bcs: number,
) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * ars + p * acs]! * b[p * brs + j * bcs]!;
      c[i * n + j] = s;
    }
  return c;
}

const native = nativeKernels();

describe.skipIf(!native)(`native addon (${nativeStatus().detail})`, () => {
  const isas = native ? ['avx512', 'avx2', 'generic'].filter((isa) => native.setIsa(isa)) : [];
  native?.setIsa('best');

  for (const isa of isas) {
    it(`${isa} SGEMM matches a float64 reference for every transpose and ragged sizes`, () => {
      native!.setIsa(isa);
      let seed = 1;
      const rnd = () => {
        seed = (seed * 16807) % 2147483647;
        return (seed / 2147483647) * 2 - 1;
      };
      // small (one thread), tall (row blocks, shared packed B), short and wide (column panels, shared packed A),
      // deeper than one packed panel (K > 256 accumulates), and rows 512 / 1024 floats apart (A is packed
      // into row panels then, ragged last panel included)
      for (const [m, n, k] of [
        [1, 1, 1],
        [7, 33, 5],
        [130, 65, 257],
        [300, 70, 600],
        [20, 700, 300],
        [203, 45, 1024],
        [101, 40, 512],
        // a few rows (decoding): the few-row vector kernels, ragged columns and depth
        [1, 70, 37],
        [2, 5, 64],
        [3, 129, 16],
        [4, 33, 3],
      ] as const)
        for (const ta of [false, true])
          for (const tb of [false, true]) {
            const a = Float32Array.from({ length: m * k }, rnd);
            const b = Float32Array.from({ length: k * n }, rnd);
            const c = new Float32Array(m * n).fill(Number.NaN); // beta = 0 must not read C
            const [ars, acs] = ta ? [1, m] : [k, 1];
            const [brs, bcs] = tb ? [1, k] : [n, 1];
            native!.gemm(
              a,
              b,
              c,
              new Float64Array([1, m, n, k, 0, ars, acs, 0, 0, brs, bcs, 0, 0, n, 0, 1, 0]),
            );
            const ref = reference(m, n, k, a, ars, acs, b, brs, bcs);
            let err = 0;
            let scale = 0;
            for (let i = 0; i < m * n; i++) {
              err = Math.max(err, Math.abs(c[i]! - ref[i]!));
              scale = Math.max(scale, Math.abs(ref[i]!));
            }
            expect(err / scale, `${m}x${n}x${k} ta=${ta} tb=${tb}`).toBeLessThan(1e-6);
          }
      native!.setIsa('best');
    });
  }

  it('batches with strides, broadcasts with batch stride 0, accumulates with alpha and beta', () => {
    const [batch, m, n, k] = [3, 5, 4, 6];
    const a = Float32Array.from({ length: batch * m * k }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i)); // one B for all
    const c = new Float32Array(batch * m * n).fill(1);
    native!.gemm(
      a,
      b,
      c,
      new Float64Array([batch, m, n, k, 0, k, 1, m * k, 0, n, 1, 0, 0, n, m * n, 2, 0.5]),
    );
    for (let bi = 0; bi < batch; bi++) {
      const ref = reference(m, n, k, a.subarray(bi * m * k), k, 1, b, n, 1);
      for (let i = 0; i < m * n; i++) expect(c[bi * m * n + i]).toBeCloseTo(2 * ref[i]! + 0.5, 4);
    }
  });

  it('few-row products (one query per head, as in decoding): batched, accumulating, either B layout, every ISA', () => {
    const isas = ['avx512', 'avx2', 'generic'].filter((isa) => native!.setIsa(isa));
    for (const isa of isas) {
      native!.setIsa(isa);
      for (const tb of [false, true]) {
        // 8 heads, 1 query row each, against a 45 x 24 key/value block per head (a_cs 1; B transposed or not)
        const [batch, m, n, k] = [8, 1, 45, 24];
        const a = Float32Array.from({ length: batch * m * k }, (_, i) => Math.sin(i * 0.7));
        const b = Float32Array.from({ length: batch * k * n }, (_, i) => Math.cos(i * 0.3));
        const c = Float32Array.from({ length: batch * m * n }, (_, i) => i % 3);
        const before = c.slice();
        const [brs, bcs] = tb ? [1, k] : [n, 1];
        native!.gemm(
          a,
          b,
          c,
          new Float64Array([batch, m, n, k, 0, k, 1, m * k, 0, brs, bcs, k * n, 0, n, m * n, 1.5, -0.25]),
        );
        for (let bi = 0; bi < batch; bi++) {
          const ref = reference(m, n, k, a.subarray(bi * m * k), k, 1, b.subarray(bi * k * n), brs, bcs);
          for (let i = 0; i < m * n; i++) {
            const want = 1.5 * ref[i]! - 0.25 * before[bi * m * n + i]!;
            expect(
              Math.abs(c[bi * m * n + i]! - want),
              `${isa} tb=${tb} batch ${bi} entry ${i}`,
            ).toBeLessThan(1e-4);
          }
        }
      }
    }
    native!.setIsa('best');
  });

  it('a decoding step (1-8 rows, row-major B, several threads) gives bit for bit the rows of a tall product', () => {
    // Wide and deep enough for the threaded path (several column tasks, two 256-deep blocks and a ragged
    // one, a ragged last panel), like a projection or the output head of one decoding step.
    const [n, k, tall] = [1000, 600, 40];
    const a = Float32Array.from({ length: tall * k }, (_, i) => Math.sin(i * 0.37));
    const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.11));
    const c0 = Float32Array.from({ length: tall * n }, (_, i) => (i % 7) - 3);
    const isas = ['avx512', 'avx2', 'generic'].filter((isa) => native!.setIsa(isa));
    for (const isa of isas) {
      native!.setIsa(isa);
      for (const beta of [0, 1, -0.5]) {
        const whole = c0.slice();
        native!.gemm(
          a,
          b,
          whole,
          new Float64Array([1, tall, n, k, 0, k, 1, 0, 0, n, 1, 0, 0, n, 0, 0.75, beta]),
        );
        for (const m of [1, 2, 3, 5, 8]) {
          const few = c0.slice(0, m * n);
          native!.gemm(
            a,
            b,
            few,
            new Float64Array([1, m, n, k, 0, k, 1, 0, 0, n, 1, 0, 0, n, 0, 0.75, beta]),
          );
          const differing = few.filter((v, i) => !Object.is(v, whole[i])).length;
          expect(differing, `${isa}, beta ${beta}, ${m} rows: entries unlike the tall product's`).toBe(0);
          const ref = reference(m, n, k, a, k, 1, b, n, 1);
          for (const i of [0, n - 1, m * n - 1]) {
            expect(Math.abs(few[i]! - (0.75 * ref[i]! + beta * c0[i]!))).toBeLessThan(1e-3);
          }
        }
      }
    }
    native!.setIsa('best');
  });

  it('refuses operands that reach outside their buffers instead of reading stray memory', () => {
    const a = new Float32Array(8);
    expect(() =>
      native!.gemm(a, a, a, new Float64Array([1, 3, 3, 3, 0, 3, 1, 0, 0, 3, 1, 0, 0, 3, 0, 1, 0])),
    ).toThrow(/outside its buffer/);
    expect(() => native!.gemm(a, a, a, new Float64Array(3))).toThrow(/17 numbers/);
  });
});
