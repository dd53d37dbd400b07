// GPU PEFT kernels (issue 11): GFLOP/s of each LoRA kernel and of its reference path on the active tfjs backend,
// then LoRA training tokens/s on the reference config of ../shared/bench (bench/train-speed: d 256, 4 layers,
// seq 128, batch 8, r 8 on q/v, AdamW), with the training step imported from bench/train-speed.
//
// Kernels, on the reference config's shapes (d = 256, r = 8):
//   lora      y = x·W + s·(x·A)·B, 1024 rows (batch 8 x seq 128), forward and forward+backward
//   bgmv      decoding: 32 rows (one token for each of 32 users), each its own adapter of 32 stacked
//   sgmv      prefill/training: 1024 rows in 8 segments of 128 (8 users), 8 stacked adapters, fwd and fwd+bwd
// Paths per kernel:
//   wgsl      @oppu/trainer/webgpu (WGSL kernels; webgpu backend only)
//   trainer   the trainer's own kernel (loraLinear; multiLoraDelta: gather + batched matMul) on this backend
//   reference plain tf ops (loraLinearReference; bgmvReference/sgmvReference: one-hot selection)
// Training engines: `reference` (plain tf ops, train-speed's stock set), `kernels` (train-speed's kernel set;
// wasm only), `wgsl` (the stock set with the LoRA projections on the WGSL fused kernel; webgpu only).
//
// Usage: OPPU_BACKEND=webgpu|wasm|cpu|tensorflow pnpm bench:gpu-kernels [--reps 10] [--steps 3] [--warmup 1]
//        [--train reference,kernels,wgsl] [--dim 256] [--rank 8]
// Without OPPU_BACKEND the trainer picks (tfjs-node-gpu > tfjs-node > WebGPU on a hardware adapter > wasm).
// On a CUDA machine: `pnpm add -w @tensorflow/tfjs-node-gpu@4.22.0` (CUDA 11.8, cuDNN 8.6) and run as is with
// OPPU_BACKEND=tensorflow (the wgsl rows then print n/a: tfjs-node-gpu takes no custom kernels); with Vulkan
// drivers, OPPU_BACKEND=webgpu runs the WGSL kernels on the GPU.
import { parseArgs } from 'node:util';
import { initBackend } from '@oppu/trainer';
import {
  installKernels,
  kernelsInfo,
  loraLinear,
  loraLinearReference,
  multiLoraDelta,
} from '@oppu/trainer/kernels';
import { bgmv, bgmvReference, loraLinearWebgpu, segmentsOf, sgmv, sgmvReference } from '@oppu/trainer/webgpu';
import {
  cpuModel,
  median,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  type Tensor3D,
  tf,
} from '../bench-env.js';
import {
  adamW,
  buildModel,
  cfg,
  kernelOps,
  lossOf,
  type Ops,
  stockOps,
  trainingBatch,
} from '../train-speed/run.js';

const { values: opt } = parseArgs({
  options: {
    reps: { type: 'string', default: '10' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    train: { type: 'string', default: 'reference,kernels,wgsl' },
    dim: { type: 'string', default: String(cfg.d) },
    rank: { type: 'string', default: String(cfg.rank) },
  },
});
const reps = Number(opt.reps);
const d = Number(opt.dim);
const r = Number(opt.rank);
const s = cfg.alpha / cfg.rank;

const backend = await initBackend({ log: () => {} });
const onWebgpu = backend.name === 'webgpu';
if (backend.name === 'wasm') installKernels(); // the trainer's fast kernels, as the product runs them
console.log(
  `gpu-kernels on backend "${backend.name}" (${backend.provider}${backend.name === 'wasm' ? `, ${backend.threads} thread(s), matMul ${kernelsInfo().matMul}` : ''}); ` +
    `${cpuModel()}, node ${process.version}`,
);
for (const line of backend.skipped) console.log(`  ${line}`);

/** Waits for the backend to finish the work that produced `t` (GPU backends queue it). */
async function settle(t: Tensor | Tensor[]): Promise<void> {
  await (Array.isArray(t) ? t[0]! : t).data();
}

/** Median seconds per call over `reps` calls, after one warm-up (shader compilation, caches). */
async function time(f: () => Tensor | Tensor[]): Promise<number> {
  const warm = tf.tidy(f);
  await settle(warm);
  tf.dispose(warm);
  const ts: number[] = [];
  // GPU work is queued: time batches of calls ended by one read-back, so the read-back's latency is shared.
  const batch = onWebgpu ? Math.max(1, Math.floor(reps / 3)) : 1;
  for (let i = 0; i < reps; i += batch) {
    const t0 = performance.now();
    let out: Tensor | Tensor[] = [];
    for (let j = 0; j < batch; j++) {
      tf.dispose(out);
      out = tf.tidy(f);
    }
    await settle(out);
    ts.push((performance.now() - t0) / batch);
    tf.dispose(out);
  }
  return median(ts) / 1000;
}

/** GFLOP/s with three significant digits (the software renderer is slow). */
const gflops = (flops: number, seconds: number) => (flops / seconds / 1e9).toPrecision(3);

type Row = { kernel: string; path: string; flops: number; seconds?: number; note?: string };
const rows: Row[] = [];
async function measure(kernel: string, path: string, flops: number, f: (() => Tensor | Tensor[]) | string) {
  if (typeof f === 'string') {
    rows.push({ kernel, path, flops, note: f });
    return;
  }
  try {
    rows.push({ kernel, path, flops, seconds: await time(f) });
  } catch (error) {
    rows.push({ kernel, path, flops, note: `failed: ${(error as Error).message.split('\n')[0]}` });
  }
  const last = rows.at(-1)!;
  console.log(
    `  ${kernel.padEnd(26)} ${path.padEnd(10)} ${last.seconds ? `${gflops(flops, last.seconds)} GFLOP/s` : last.note}`,
  );
}
const wgslOnly = 'n/a (WGSL kernels run on the webgpu backend only)';

// ---- fused LoRA linear: 1024 x d · d x d, rank r ----
{
  const rowsN = cfg.batch * cfg.seq;
  const x = tf.randomUniform([cfg.batch, cfg.seq, d], -1, 1, 'float32', 1) as Tensor3D;
  const w = tf.randomNormal([d, d], 0, 0.02, 'float32', 2) as Tensor2D;
  const a = tf.randomUniform([d, r], -0.1, 0.1, 'float32', 3) as Tensor2D;
  const b = tf.randomUniform([r, d], -0.1, 0.1, 'float32', 4) as Tensor2D;
  const fwd = 2 * rowsN * (d * d + d * r + r * d);
  const bwd = 2 * rowsN * (d * r + d * d + r * d + d * r + r * d);
  type Lin = typeof loraLinear;
  const both = (lin: Lin) => () =>
    tf.grads((xi: Tensor, ai: Tensor, bi: Tensor) =>
      tf.sum(lin(xi as Tensor3D, w, ai as Tensor2D, bi as Tensor2D, s)),
    )([x, a, b]);
  const name = `lora ${rowsN}x${d}x${d} r${r}`;
  await measure(`${name} fwd`, 'wgsl', fwd, onWebgpu ? () => loraLinearWebgpu(x, w, a, b, s) : wgslOnly);
  await measure(`${name} fwd`, 'trainer', fwd, () => loraLinear(x, w, a, b, s));
  await measure(`${name} fwd`, 'reference', fwd, () => loraLinearReference(x, w, a, b, s));
  await measure(`${name} fwd+bwd`, 'wgsl', fwd + bwd, onWebgpu ? both(loraLinearWebgpu) : wgslOnly);
  await measure(`${name} fwd+bwd`, 'trainer', fwd + bwd, both(loraLinear));
  await measure(`${name} fwd+bwd`, 'reference', fwd + bwd, both(loraLinearReference));
  tf.dispose([x, w, a, b]);
}

// ---- multi-adapter: BGMV (decode) and SGMV (prefill / training) ----
{
  const n = 32;
  const users = 32;
  const x = tf.randomUniform([users, d], -1, 1, 'float32', 5) as Tensor2D;
  const ids = tf.tensor1d(
    Int32Array.from({ length: users }, (_, i) => (i * 7) % n),
    'int32',
  ) as Tensor1D;
  const a = tf.randomUniform([n, d, r], -0.1, 0.1, 'float32', 6) as Tensor3D;
  const b = tf.randomUniform([n, r, d], -0.1, 0.1, 'float32', 7) as Tensor3D;
  const fwd = 2 * users * (d * r + r * d);
  const name = `bgmv ${users} rows, ${n} adapters`;
  await measure(name, 'wgsl', fwd, onWebgpu ? () => bgmv(x, ids, a, b, s) : wgslOnly);
  await measure(name, 'trainer', fwd, () => multiLoraDelta(tf.reshape(x, [users, 1, d]), ids, a, b, s));
  await measure(name, 'reference', fwd, () => bgmvReference(x, ids, a, b, s));
  tf.dispose([x, ids, a, b]);
}
{
  const n = cfg.batch;
  const rowsN = cfg.batch * cfg.seq;
  const x = tf.randomUniform([rowsN, d], -1, 1, 'float32', 8) as Tensor2D;
  const seg = segmentsOf(
    Array.from({ length: n }, () => cfg.seq),
    Array.from({ length: n }, (_, i) => n - 1 - i),
  );
  const seqIds = tf.tensor1d(Int32Array.from(seg.adapterIds), 'int32') as Tensor1D;
  const a = tf.randomUniform([n, d, r], -0.1, 0.1, 'float32', 9) as Tensor3D;
  const b = tf.randomUniform([n, r, d], -0.1, 0.1, 'float32', 10) as Tensor3D;
  const fwd = 2 * rowsN * (d * r + r * d);
  const name = `sgmv ${rowsN} rows, ${n} segments`;
  const trainer = (xi: Tensor, ai: Tensor, bi: Tensor) =>
    tf.reshape(
      multiLoraDelta(tf.reshape(xi, [n, cfg.seq, d]) as Tensor3D, seqIds, ai as Tensor3D, bi as Tensor3D, s),
      [rowsN, d],
    ) as Tensor2D;
  type Op = (xi: Tensor, ai: Tensor, bi: Tensor) => Tensor2D;
  const wg: Op = (xi, ai, bi) => sgmv(xi as Tensor2D, seg, ai as Tensor3D, bi as Tensor3D, s);
  const ref: Op = (xi, ai, bi) => sgmvReference(xi as Tensor2D, seg, ai as Tensor3D, bi as Tensor3D, s);
  const both = (op: Op) => () =>
    tf.grads((xi: Tensor, ai: Tensor, bi: Tensor) => tf.sum(op(xi, ai, bi)))([x, a, b]);
  await measure(`${name} fwd`, 'wgsl', fwd, onWebgpu ? () => wg(x, a, b) : wgslOnly);
  await measure(`${name} fwd`, 'trainer', fwd, () => trainer(x, a, b));
  await measure(`${name} fwd`, 'reference', fwd, () => ref(x, a, b));
  await measure(`${name} fwd+bwd`, 'wgsl', 3 * fwd, onWebgpu ? both(wg) : wgslOnly);
  await measure(
    `${name} fwd+bwd`,
    'trainer',
    3 * fwd,
    // multiLoraDelta's gradient scatter-adds on the host (dataSync), which the webgpu backend cannot do.
    onWebgpu ? 'n/a (its gradient reads tensors synchronously: not on webgpu)' : both(trainer),
  );
  await measure(`${name} fwd+bwd`, 'reference', 3 * fwd, both(ref));
  tf.dispose([x, seqIds, a, b]);
}

console.log('\nkernel                                path        GFLOP/s     ms/call');
for (const row of rows) {
  const gf = row.seconds ? gflops(row.flops, row.seconds).padStart(10) : ''.padStart(10);
  const ms = row.seconds ? (row.seconds * 1000).toFixed(2).padStart(10) : row.note;
  console.log(`${row.kernel.padEnd(37)} ${row.path.padEnd(10)} ${gf}  ${ms}`);
}

// ---- LoRA training tokens/s on the reference config (train-speed's step) ----
const wgslOps: Ops = { ...stockOps, lora: (x, w, a, b) => loraLinearWebgpu(x, w, a, b, s) };
const engines: Record<string, { ops: Ops; when: boolean; why: string }> = {
  reference: { ops: stockOps, when: true, why: '' },
  kernels: { ops: kernelOps, when: backend.name === 'wasm', why: 'the trainer kernel set is for wasm' },
  wgsl: { ops: wgslOps, when: onWebgpu, why: 'WGSL kernels run on the webgpu backend only' },
};
console.log(`\ntraining: config ${JSON.stringify(cfg)}; ${opt.warmup} warm-up + ${opt.steps} timed steps`);
const results: Array<{
  engine: string;
  tokens_per_s?: number;
  median_step_s?: number;
  losses?: number[];
  skipped?: string;
}> = [];
for (const name of opt.train.split(',')) {
  const e = engines[name];
  if (!e) throw new Error(`--train: unknown engine "${name}" (reference, kernels, wgsl)`);
  if (!e.when) {
    results.push({ engine: name, skipped: e.why });
    continue;
  }
  const m = buildModel();
  const vars = m.layers.flatMap((l) => [l.qA, l.qB, l.vA, l.vB]);
  const update = adamW(vars);
  const { ids, targets } = trainingBatch();
  const times: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i < Number(opt.warmup) + Number(opt.steps); i++) {
    const t0 = performance.now();
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => lossOf(m, e.ops, ids, targets), vars);
      update(grads);
      return value;
    });
    const l = (await loss.data())[0]!;
    loss.dispose();
    const dt = (performance.now() - t0) / 1000;
    if (i >= Number(opt.warmup)) times.push(dt);
    losses.push(l);
    console.log(`  ${name} step ${i} loss=${l.toFixed(4)} time=${dt.toFixed(3)}s`);
  }
  const med = median(times);
  results.push({ engine: name, tokens_per_s: (cfg.batch * cfg.seq) / med, median_step_s: med, losses });
  tf.dispose([
    ...m.layers.flatMap((l) => Object.values(l)),
    m.embed,
    m.head,
    m.cos,
    m.sin,
    m.mask,
    m.normW,
    ids,
    targets,
  ]);
}
console.log('\nengine      tokens/s   median step   losses');
for (const res of results) {
  if (res.skipped) {
    console.log(`${res.engine.padEnd(10)}  skipped: ${res.skipped}`);
    continue;
  }
  console.log(
    `${res.engine.padEnd(10)} ${res.tokens_per_s!.toFixed(0).padStart(9)}   ${res.median_step_s!.toFixed(3).padStart(9)} s   ${res.losses!.map((l) => l.toFixed(4)).join(' ')}`,
  );
}
console.log(
  `JSON ${JSON.stringify({ backend: backend.name, provider: backend.provider, kernels: rows, training: results })}`,
);
