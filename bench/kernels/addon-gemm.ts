// The native addon's SGEMM timed directly on Float32Arrays (no tfjs, no wasm heap): microseconds and GFLOP/s
// per call for the decoding shapes of the embedded model (1, 8 and 32 rows against its 256x256, 256x704,
// 704x256 projections and its 256x4096 output head) and the training shapes of the reference config.
// Blocking knobs of the addon (OPPU_GEMM_KC, _MC, _NC, _INPLACE_ROWS) are read from the environment at load,
// so two runs with different values compare them.
//
// Usage: pnpm --filter @oppu/trainer exec tsx --conditions=source ../../bench/kernels/addon-gemm.ts [--reps 200]
import { parseArgs } from 'node:util';
import { nativeKernels, nativeStatus } from '@oppu/trainer/kernels';
import { cpuModel } from '../bench-env.js';

const { values: opt } = parseArgs({ options: { reps: { type: 'string', default: '200' } } });
const reps = Number(opt.reps);
const native = nativeKernels();
if (!native) {
  console.log(`native addon not available: ${nativeStatus().detail}`);
  process.exit(0);
}
const knobs = ['KC', 'MC', 'NC', 'INPLACE_ROWS']
  .map((k) => `OPPU_GEMM_${k}=${process.env[`OPPU_GEMM_${k}`] ?? '(default)'}`)
  .join(' ');
console.log(`addon SGEMM on ${cpuModel()}, ${native.info().isa}, ${native.info().threads} threads; ${knobs}`);
console.log(`${'m x k x n (A·B, row-major)'.padEnd(28)} ${'us/call'.padStart(9)} ${'GFLOP/s'.padStart(8)}`);
const shapes: Array<[number, number, number, string]> = [];
for (const m of [1, 8, 32])
  for (const [k, n, what] of [
    [256, 256, 'q/k/v/o'],
    [256, 704, 'gate/up'],
    [704, 256, 'down'],
    [256, 4096, 'head'],
  ] as const)
    shapes.push([m, k, n, `decode ${what}`]);
shapes.push(
  [1024, 256, 256, 'train q/k/v/o'],
  [1024, 256, 768, 'train gate/up'],
  [1024, 256, 2048, 'train head'],
);
let seed = 1;
const rnd = () => {
  seed = (seed * 16807) % 2147483647;
  return seed / 2147483647 - 0.5;
};
for (const [m, k, n, what] of shapes) {
  const a = Float32Array.from({ length: m * k }, rnd);
  const b = Float32Array.from({ length: k * n }, rnd);
  const c = new Float32Array(m * n);
  const p = new Float64Array([1, m, n, k, 0, k, 1, 0, 0, n, 1, 0, 0, n, 0, 1, 0]);
  for (let i = 0; i < 5; i++) native.gemm(a, b, c, p);
  const times: number[] = [];
  const count = m >= 1024 ? Math.max(10, reps / 10) : reps;
  for (let r = 0; r < count; r++) {
    const t0 = performance.now();
    native.gemm(a, b, c, p);
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  const ms = times[Math.floor(times.length / 2)]!;
  const label = `${m} x ${k} x ${n} ${what}`;
  console.log(
    `${label.padEnd(28)} ${(ms * 1000).toFixed(0).padStart(9)} ${((2 * m * k * n) / ms / 1e6).toFixed(1).padStart(8)}`,
  );
}
