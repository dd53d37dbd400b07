// GFLOP/s of every matMul shape class of the reference LoRA training step (d 256, ffn 768, vocab 2048,
// plus the output head of a decoding step of the embedded model (vocab 4096; 1 and 32 rows),
// batch 8 x seq 128 = 1024 rows, 4 heads of 64), on the wasm backend: stock tfjs-backend-wasm 4.22, our wasm
// kernel (XNNPACK per batch), our native kernel (addon SGEMM). Plus the embedding gradient: host scatter-add
// against a one-hot matMul.
//
// Usage: pnpm --filter @oppu/trainer exec tsx --conditions=source ../../bench/kernels/run.ts [--reps 10]
import { parseArgs } from 'node:util';
import {
  embedding,
  embeddingOneHot,
  installKernels,
  kernelsInfo,
  uninstallKernels,
} from '@oppu/trainer/kernels';
import { cpuModel, median, type Tensor, type Tensor2D, tf, useBackend } from '../bench-env.js';

const { values: opt } = parseArgs({
  options: { reps: { type: 'string', default: '10' }, 'stock-reps': { type: 'string', default: '2' } },
});

// name, A shape, B shape, transposeA, transposeB
const shapes: Array<[string, number[], number[], boolean, boolean]> = [
  ['NN  x·W q/k/v/o   1024x256 · 256x256', [1024, 256], [256, 256], false, false],
  ['NN  x·W gate/up   1024x256 · 256x768', [1024, 256], [256, 768], false, false],
  ['NN  x·W head      1024x256 · 256x2048', [1024, 256], [256, 2048], false, false],
  ['NT  dy·W^T down   1024x256 · (768x256)^T', [1024, 256], [768, 256], false, true],
  ['NT  dy·W^T head   1024x2048 · (256x2048)^T', [1024, 2048], [256, 2048], false, true],
  ['TN  x^T·g LoRA dA (1024x256)^T · 1024x8', [1024, 256], [1024, 8], true, false],
  ['TN  W-grad shape  (1024x256)^T · 1024x256', [1024, 256], [1024, 256], true, false],
  ['NN  decode head   1x256 · 256x4096 (1 row)', [1, 256], [256, 4096], false, false],
  ['NN  decode head   32x256 · 256x4096', [32, 256], [256, 4096], false, false],
  ['B-NT q·k^T        32 x 128x64 · (128x64)^T', [32, 128, 64], [32, 128, 64], false, true],
  ['B-NN att·v        32 x 128x128 · 128x64', [32, 128, 128], [32, 128, 64], false, false],
  ['B-TN att^T·dy     32 x (128x128)^T · 128x64', [32, 128, 128], [32, 128, 64], true, false],
];

function flops(a: number[], b: number[], ta: boolean, tb: boolean): number {
  const batch = a.length === 3 ? a[0]! : 1;
  const m = ta ? a.at(-1)! : a.at(-2)!;
  const k = ta ? a.at(-2)! : a.at(-1)!;
  const n = tb ? b.at(-2)! : b.at(-1)!;
  return 2 * batch * m * n * k;
}

function time(f: () => Tensor, reps: number): number {
  tf.dispose(f()); // warm-up (XNNPACK operator creation, page faults)
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const y = f(); // wasm kernels run synchronously: no readback needed
    ts.push(performance.now() - t0);
    y.dispose();
  }
  return median(ts) / 1000;
}

await useBackend('wasm');
console.log(
  `kernels bench on ${cpuModel()}, node ${process.version}, wasm backend; GFLOP/s (median of reps)`,
);
const modes = ['stock', 'wasm', 'native'] as const;
const results: Record<string, Record<string, number>> = {};
console.log(`${'shape'.padEnd(44)} ${modes.map((m) => m.padStart(8)).join(' ')}   native/stock`);
for (const [name, as, bs, ta, tb] of shapes) {
  const a = tf.randomUniform(as, -1, 1, 'float32', 1);
  const b = tf.randomUniform(bs, -1, 1, 'float32', 2);
  const row: Record<string, number> = {};
  for (const mode of modes) {
    if (mode === 'stock') uninstallKernels();
    else installKernels({ native: mode === 'native' });
    if (mode === 'native' && kernelsInfo().matMul !== 'native') continue;
    const reps = Number(mode === 'stock' ? opt['stock-reps'] : opt.reps);
    row[mode] = flops(as, bs, ta, tb) / time(() => tf.matMul(a, b, ta, tb), reps) / 1e9;
  }
  results[name] = row;
  const cells = modes.map((m) => (row[m] === undefined ? 'n/a' : row[m]!.toFixed(1)).padStart(8)).join(' ');
  const ratio = row.native && row.stock ? `${(row.native / row.stock).toFixed(0)}x` : '';
  console.log(`${name.padEnd(44)} ${cells}   ${ratio.padStart(8)}`);
  tf.dispose([a, b]);
}

// Embedding gradient: [vocab 2048, d 256] table, 1024 token ids.
installKernels();
const table = tf.randomNormal([2048, 256], 0, 0.02, 'float32', 3) as Tensor2D;
const ids = tf.randomUniform([8, 128], 0, 2048, 'int32', 4);
const probe = tf.randomUniform([8, 128, 256], -1, 1, 'float32', 5);
const gradOf = (lookup: typeof embedding) => () =>
  tf.grad((t: Tensor) => tf.sum(tf.mul(lookup(t as Tensor2D, ids), probe)))(table);
const scatter = time(gradOf(embedding), Number(opt.reps));
const oneHot = time(gradOf(embeddingOneHot), Number(opt.reps));
console.log(
  `embedding forward+gradient, vocab 2048 x d 256, 1024 ids: scatter-add ${(scatter * 1000).toFixed(1)} ms, ` +
    `one-hot matMul ${(oneHot * 1000).toFixed(1)} ms (native matMul)`,
);
console.log(
  `JSON ${JSON.stringify({ gflops: results, embedding_ms: { scatter: scatter * 1000, oneHot: oneHot * 1000 }, native: kernelsInfo().native })}`,
);
