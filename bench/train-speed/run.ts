// LoRA training tokens/s on the reference config of shared/bench (d 256, 4 layers, 4 heads, vocab 2048,
// ffn 768, seq 128, batch 8, LoRA r 8 alpha 16 on q/v, AdamW), one step = forward + backward + update:
//   stock   tfjs-backend-wasm as shipped, plain tf ops
//   wasm    @oppu/trainer kernels without the addon (XNNPACK per batch, cached W^T, fused LoRA)
//   native  @oppu/trainer kernels with the native addon (AVX-512/AVX2 SGEMM, 2 threads)
//   model   the product path: @oppu/trainer's LlamaModel + createPeftMethod LoRA + AdamW + masked loss, with
//           installKernels() (native addon when built)
// and, when python3 has torch, the PyTorch peer (shared/bench/torch_lora_ref.py) in the same run, for the ratio.
//
// stock/wasm/native run a self-contained minimal Llama in this file (the peer's architecture, op for op), so
// the three kernel sets are compared on identical code; `model` runs the product's own decoder and LoRA.
//
// Usage: pnpm --filter @oppu/trainer exec tsx --conditions=source ../../bench/train-speed/run.ts
//        [--steps 10] [--stock-steps 3] [--engines stock,wasm,native,model,torch] [--torch-steps 20]
//        [--wasm-threads 1] [--profile] [--rounds 1] [--threads 2 (native addon and torch)]
// --rounds N runs the engines N times in turn (the CPU is shared: alternating gives each the same weather)
// and reports, per engine, the median tokens/s over rounds and the median of the per-round ratios to torch.
//
// The reference config, the stand-in model, its loss, the op sets, AdamW and the batch are exported for other
// benches (bench/gpu-kernels runs the same step on the webgpu backend); importing this file runs nothing.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  AdamW,
  createPeftMethod,
  initBackend,
  LlamaModel,
  maskedCrossEntropySum,
  randomLlamaArrays,
} from '@oppu/trainer';
import {
  causalSoftmax,
  embedding,
  frozenLinear,
  installKernels,
  kernelsInfo,
  loraLinear,
  nativeKernels,
  rmsNorm,
  rmsNormReference,
  rope,
  ropeReference,
  softmaxCrossEntropy,
  softmaxCrossEntropyReference,
  swiglu,
  swigluReference,
  uninstallKernels,
} from '@oppu/trainer/kernels';
import {
  cpuModel,
  median,
  type Scalar,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  type Tensor3D,
  tf,
  useBackend,
  type Variable,
} from '../bench-env.js';

const isMain = import.meta.url === pathToFileURL(resolve(process.argv[1] ?? '')).href;
const { values: opt } = parseArgs({
  args: isMain ? process.argv.slice(2) : [],
  options: {
    steps: { type: 'string', default: '10' },
    'stock-steps': { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    engines: { type: 'string', default: 'stock,wasm,native,model,torch' },
    'torch-steps': { type: 'string', default: '20' },
    profile: { type: 'boolean', default: false },
    'wasm-threads': { type: 'string', default: '1' },
    rounds: { type: 'string', default: '1' },
    threads: { type: 'string', default: '2' },
  },
});
export const cfg = {
  d: 256,
  layers: 4,
  heads: 4,
  vocab: 2048,
  ffn: 768,
  seq: 128,
  batch: 8,
  rank: 8,
  alpha: 16,
  lr: 1e-3,
};
const hd = cfg.d / cfg.heads;
const scale = cfg.alpha / cfg.rank;

// ---- the stand-in model (frozen base, LoRA on q and v) ----
interface Layer {
  q: Tensor2D;
  k: Tensor2D;
  v: Tensor2D;
  o: Tensor2D;
  gate: Tensor2D;
  up: Tensor2D;
  down: Tensor2D;
  qA: Variable;
  qB: Variable;
  vA: Variable;
  vB: Variable;
}

export function buildModel() {
  let seed = 1;
  const w = (i: number, o: number) => tf.randomNormal([i, o], 0, 0.02, 'float32', seed++) as Tensor2D;
  const bound = 1 / Math.sqrt(cfg.d);
  const loraA = () => tf.variable(tf.randomUniform([cfg.d, cfg.rank], -bound, bound, 'float32', seed++));
  const loraB = () => tf.variable(tf.zeros([cfg.rank, cfg.d]));
  const layers: Layer[] = Array.from({ length: cfg.layers }, () => ({
    q: w(cfg.d, cfg.d),
    k: w(cfg.d, cfg.d),
    v: w(cfg.d, cfg.d),
    o: w(cfg.d, cfg.d),
    gate: w(cfg.d, cfg.ffn),
    up: w(cfg.d, cfg.ffn),
    down: w(cfg.ffn, cfg.d),
    qA: loraA(),
    qB: loraB(),
    vA: loraA(),
    vB: loraB(),
  }));
  const embed = w(cfg.vocab, cfg.d);
  const head = w(cfg.d, cfg.vocab);
  // RoPE angles (half-split convention, as the peer), one row per token of the batch: [batch*seq, hd/2]
  const inv = Array.from({ length: hd / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / hd));
  const ang = new Float32Array(cfg.batch * cfg.seq * (hd / 2));
  for (let r = 0; r < cfg.batch * cfg.seq; r++)
    for (let i = 0; i < hd / 2; i++) ang[r * (hd / 2) + i] = (r % cfg.seq) * inv[i]!;
  const angT = tf.tensor2d(ang, [cfg.batch * cfg.seq, hd / 2]);
  const cos = tf.cos(angT);
  const sin = tf.sin(angT);
  const normW = tf.ones([cfg.d]) as import('@tensorflow/tfjs-core').Tensor1D; // RMSNorm weights (frozen, 1 as the peer)
  const mask = tf.tensor2d(
    Float32Array.from({ length: cfg.seq * cfg.seq }, (_, i) =>
      i % cfg.seq > Math.floor(i / cfg.seq) ? -1e9 : 0,
    ),
    [cfg.seq, cfg.seq],
  );
  return { layers, embed, head, cos, sin, mask, normW };
}

export type Model = ReturnType<typeof buildModel>;
export interface Ops {
  frozen(x: Tensor3D, w: Tensor2D): Tensor3D;
  lora(x: Tensor3D, w: Tensor2D, a: Tensor2D, b: Tensor2D): Tensor3D;
  xent(logits: Tensor2D, targets: Tensor1D): Scalar;
  norm: typeof rmsNorm;
  swiglu: typeof swiglu;
  rope: typeof rope;
  embed(table: Tensor2D, ids: Tensor): Tensor;
  /** Attention probabilities from raw scores [B, H, T, T]: softmax(scores / sqrt(hd) + causal mask). */
  attn(scores: Tensor, mask: Tensor): Tensor;
}
export const stockOps: Ops = {
  frozen: (x, w) =>
    tf.reshape(tf.matMul(tf.reshape(x, [-1, x.shape[2]]), w), [x.shape[0], x.shape[1], w.shape[1]]),
  lora: (x, w, a, b) => {
    const x2 = tf.reshape(x, [-1, x.shape[2]]) as Tensor2D;
    const y = tf.add(tf.matMul(x2, w), tf.mul(tf.matMul(tf.matMul(x2, a), b), scale));
    return tf.reshape(y, [x.shape[0], x.shape[1], w.shape[1]]);
  },
  xent: softmaxCrossEntropyReference,
  norm: rmsNormReference,
  swiglu: swigluReference,
  rope: ropeReference,
  embed: (table, ids) => tf.gather(table, ids),
  attn: (scores, mask) => tf.softmax(tf.add(tf.mul(scores, 1 / Math.sqrt(hd)), mask)),
};
export const kernelOps: Ops = {
  frozen: (x, w) => frozenLinear(x, w),
  lora: (x, w, a, b) => loraLinear(x, w, a, b, scale),
  xent: softmaxCrossEntropy,
  norm: rmsNorm,
  swiglu,
  rope,
  embed: embedding,
  attn: (scores) => causalSoftmax(scores, 1 / Math.sqrt(hd)),
};

export function lossOf(m: Model, ops: Ops, ids: Tensor, targets: Tensor) {
  const { batch: B, seq: T, d: D, heads: H } = cfg;
  const norm = (x: Tensor3D) => ops.norm(x, m.normW, 1e-5);
  let x = ops.embed(m.embed, ids) as Tensor3D; // [B, T, D]
  const heads = (t: Tensor3D) => tf.reshape(t, [B * T, H, hd]) as import('@tensorflow/tfjs-core').Tensor3D; // [B*T, H, hd]
  const split = (t: Tensor) => tf.transpose(tf.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]); // [B, H, T, hd]
  for (const l of m.layers) {
    const h = norm(x);
    const q = split(
      ops.rope(heads(ops.lora(h, l.q, l.qA as Tensor2D, l.qB as Tensor2D)), m.cos, m.sin, 'half'),
    );
    const k = split(ops.rope(heads(ops.frozen(h, l.k)), m.cos, m.sin, 'half'));
    const v = split(ops.lora(h, l.v, l.vA as Tensor2D, l.vB as Tensor2D));
    const att = ops.attn(tf.matMul(q, k, false, true), m.mask); // [B, H, T, T]
    const ctx = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [B, T, D]) as Tensor3D;
    x = tf.add(x, ops.frozen(ctx, l.o));
    const h2 = norm(x);
    x = tf.add(x, ops.frozen(ops.swiglu(ops.frozen(h2, l.gate), ops.frozen(h2, l.up)), l.down));
  }
  const logits = tf.reshape(ops.frozen(norm(x), m.head), [B * T, cfg.vocab]) as Tensor2D;
  return ops.xent(logits, targets as Tensor1D);
}

// AdamW as torch.optim.AdamW (stand-in until the training loop lands).
export function adamW(vars: Variable[]) {
  const st = vars.map((p) => ({
    p,
    m: tf.variable(tf.zerosLike(p), false),
    v: tf.variable(tf.zerosLike(p), false),
  }));
  let t = 0;
  return (grads: Record<string, Tensor>) => {
    t++;
    const [b1, b2, eps, wd] = [0.9, 0.999, 1e-8, 0.01];
    tf.tidy(() => {
      for (const { p, m, v } of st) {
        const g = grads[p.name]!;
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(1 - b2 ** t)), eps);
        p.assign(tf.sub(tf.mul(p, 1 - cfg.lr * wd), tf.mul(tf.div(m, denom), cfg.lr / (1 - b1 ** t))));
      }
    });
  };
}

/** The same data for every engine: token ids [batch, seq] int32 and next-token targets [batch*seq] from a fixed LCG. */
export function trainingBatch() {
  let s = 12345;
  const tok = Int32Array.from({ length: cfg.batch * (cfg.seq + 1) }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % cfg.vocab;
  });
  const ids = tf.tensor2d(
    Int32Array.from(
      { length: cfg.batch * cfg.seq },
      (_, i) => tok[Math.floor(i / cfg.seq) * (cfg.seq + 1) + (i % cfg.seq)]!,
    ),
    [cfg.batch, cfg.seq],
    'int32',
  );
  const tgtIds = Int32Array.from(
    { length: cfg.batch * cfg.seq },
    (_, i) => tok[Math.floor(i / cfg.seq) * (cfg.seq + 1) + (i % cfg.seq) + 1]!,
  );
  const targets = tf.tensor1d(tgtIds, 'int32');
  return { ids, targets };
}

/** Kernel time of one training step by kernel name (nested custom-gradient scopes show as "forward"). */
async function profileStep(engine: string, step: () => void) {
  const prof = await tf.profile(() => {
    tf.tidy(step);
  });
  const byKernel = new Map<string, { ms: number; n: number }>();
  for (const k of prof.kernels) {
    const e = byKernel.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += Number(k.kernelTimeMs);
    e.n++;
    byKernel.set(k.name, e);
  }
  const rows = [...byKernel].sort((a, b) => b[1].ms - a[1].ms);
  console.log(`  ${engine} profile of one step (kernel ms; "forward" = custom-gradient scopes, nested):`);
  for (const [name, e] of rows.slice(0, 18))
    console.log(`    ${name.padEnd(22)} ${e.ms.toFixed(1).padStart(8)} ms  x${e.n}`);
}

async function runEngine(engine: 'stock' | 'wasm' | 'native', steps: number, warmup: number) {
  // --wasm-threads > 1: the product's backend start-up (threaded wasm binary, XNNPACK pool threads).
  const wasmThreads = Number(opt['wasm-threads']);
  if (wasmThreads > 1) await initBackend({ backend: 'wasm', wasmThreads, log: () => {} });
  else await useBackend('wasm');
  if (engine === 'stock') uninstallKernels();
  else installKernels({ native: engine === 'native' });
  const info = kernelsInfo();
  if (engine === 'native' && info.matMul !== 'native') return { engine, skipped: info.native };
  const m = buildModel();
  const vars = m.layers.flatMap((l) => [l.qA, l.qB, l.vA, l.vB]);
  const update = adamW(vars);
  const ops = engine === 'stock' ? stockOps : kernelOps;
  const { ids, targets } = trainingBatch();
  const times: number[] = [];
  const losses: number[] = [];
  let tensorsBefore = tf.memory().numTensors;
  for (let i = 0; i < warmup + steps; i++) {
    if (i === warmup) tensorsBefore = tf.memory().numTensors; // after caches (W^T) are built
    const t0 = performance.now();
    const lossValue = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => lossOf(m, ops, ids, targets), vars);
      update(grads);
      return value.dataSync()[0]!;
    });
    const dt = (performance.now() - t0) / 1000;
    if (i >= warmup) times.push(dt);
    losses.push(lossValue);
    console.log(`  ${engine} step ${i} loss=${lossValue.toFixed(4)} time=${dt.toFixed(3)}s`);
  }
  const leaked = tf.memory().numTensors - tensorsBefore;
  if (opt.profile) {
    await profileStep(engine, () => {
      const { value, grads } = tf.variableGrads(() => lossOf(m, ops, ids, targets), vars);
      update(grads);
      value.dataSync();
    });
  }
  const med = median(times);
  return {
    engine,
    matMul: info.matMul,
    native: info.native,
    median_step_s: med,
    tokens_per_s: (cfg.batch * cfg.seq) / med,
    losses,
    leaked_tensors: leaked,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  };
}

async function runModel(steps: number, warmup: number) {
  await useBackend('wasm');
  const info = installKernels();
  const config = {
    dim: cfg.d,
    hidden: cfg.ffn,
    layers: cfg.layers,
    heads: cfg.heads,
    kvHeads: cfg.heads,
    vocab: cfg.vocab,
    maxSeqLen: cfg.seq,
    normEps: 1e-5,
    ropeTheta: 10000,
    ropeStyle: 'half' as const,
    tiedEmbeddings: false,
  };
  const model = new LlamaModel(config, randomLlamaArrays(config, 1));
  const lora = createPeftMethod(
    { method: 'lora', r: cfg.rank, alpha: cfg.alpha, dropout: 0, targetModules: ['q_proj', 'v_proj'] },
    model.dims,
    { seed: 1 },
  );
  const adapter = lora.asLinearAdapter();
  const vars = lora.trainableVariables();
  const adamw = new AdamW(vars, { weightDecay: 0.01 });
  let s = 12345;
  const tok = Int32Array.from({ length: cfg.batch * (cfg.seq + 1) }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % cfg.vocab;
  });
  const at = (i: number, shift: number) =>
    tok[Math.floor(i / cfg.seq) * (cfg.seq + 1) + (i % cfg.seq) + shift]!;
  const n = cfg.batch * cfg.seq;
  const ids = tf.tensor2d(
    Int32Array.from({ length: n }, (_, i) => at(i, 0)),
    [cfg.batch, cfg.seq],
    'int32',
  );
  const targets = tf.tensor2d(
    Int32Array.from({ length: n }, (_, i) => at(i, 1)),
    [cfg.batch, cfg.seq],
    'int32',
  );
  const mask = tf.ones([cfg.batch, cfg.seq]) as Tensor2D;
  const times: number[] = [];
  const losses: number[] = [];
  let tensorsBefore = tf.memory().numTensors;
  for (let i = 0; i < warmup + steps; i++) {
    if (i === warmup) tensorsBefore = tf.memory().numTensors;
    const t0 = performance.now();
    const lossValue = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const logits = model.forward(ids as Tensor2D, adapter);
        return tf.div(maskedCrossEntropySum(logits, targets as Tensor2D, mask, n), n) as Scalar;
      }, vars);
      adamw.apply(
        vars.map((v) => grads[v.name]!),
        cfg.lr,
      );
      return value.dataSync()[0]!;
    });
    const dt = (performance.now() - t0) / 1000;
    if (i >= warmup) times.push(dt);
    losses.push(lossValue);
    console.log(`  model step ${i} loss=${lossValue.toFixed(4)} time=${dt.toFixed(3)}s`);
  }
  const leaked = tf.memory().numTensors - tensorsBefore;
  if (opt.profile) {
    await profileStep('model', () => {
      const { value, grads } = tf.variableGrads(() => {
        const logits = model.forward(ids as Tensor2D, adapter);
        return tf.div(maskedCrossEntropySum(logits, targets as Tensor2D, mask, n), n) as Scalar;
      }, vars);
      value.dataSync();
      tf.dispose(Object.values(grads));
    });
  }
  const med = median(times);
  lora.dispose();
  model.dispose();
  adamw.dispose();
  return {
    engine: 'model',
    matMul: info.matMul,
    native: info.native,
    median_step_s: med,
    tokens_per_s: n / med,
    losses,
    leaked_tensors: leaked,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  };
}

function runTorch(steps: number) {
  const script = new URL('../../../shared/bench/torch_lora_ref.py', import.meta.url).pathname;
  const candidates = ['/usr/bin/python3', 'python3'];
  if (!existsSync(script)) return { engine: 'torch', skipped: `${script} not found` };
  for (const py of candidates) {
    try {
      const out = execFileSync(
        py,
        [script, '--threads', opt.threads, '--steps', String(steps), '--warmup', '2'],
        {
          env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const line = out.split('\n').find((l) => l.startsWith('JSON '));
      if (line) return JSON.parse(line.slice(5));
    } catch {}
  }
  return {
    engine: 'torch',
    skipped: 'python3 with torch not found (apt-get install -y python3-torch libopenblas0-pthread)',
  };
}

if (isMain) await main();

async function main() {
  const engines = opt.engines.split(',');
  nativeKernels()?.setThreads(Number(opt.threads));
  const rounds = Number(opt.rounds);
  console.log(
    `train-speed on ${cpuModel()}, node ${process.version}, ${opt.threads} threads; config ${JSON.stringify(cfg)}`,
  );
  type Result = Record<string, unknown> & { engine: string; tokens_per_s?: number; skipped?: string };
  const all: Result[][] = [];
  for (let round = 0; round < rounds; round++) {
    const results: Result[] = [];
    for (const e of engines) {
      if (e === 'torch') {
        const r = runTorch(Number(opt['torch-steps'])) as Result;
        console.log(
          `  torch: ${r.skipped ?? `${(r.tokens_per_s as number).toFixed(0)} tokens/s, final loss ${r.final_loss}`}`,
        );
        results.push(r);
      } else if (e === 'model') {
        results.push((await runModel(Number(opt.steps), Number(opt.warmup))) as Result);
      } else {
        const steps = Number(e === 'stock' ? opt['stock-steps'] : opt.steps);
        const warm = e === 'stock' ? 1 : Number(opt.warmup);
        results.push((await runEngine(e as 'stock' | 'wasm' | 'native', steps, warm)) as Result);
      }
    }
    all.push(results);
    if (rounds > 1) {
      const t = results.find((r) => r.engine === 'torch')?.tokens_per_s;
      const line = results
        .filter((r) => typeof r.tokens_per_s === 'number')
        .map(
          (r) =>
            `${r.engine} ${r.tokens_per_s!.toFixed(0)}${t ? ` (${(r.tokens_per_s! / t).toFixed(3)}x)` : ''}`,
        );
      console.log(`round ${round + 1}: ${line.join(', ')}`);
    }
  }
  const perEngine = (name: string) =>
    all
      .map((rs) => rs.find((r) => r.engine === name))
      .filter((r) => typeof r?.tokens_per_s === 'number') as Result[];
  console.log(
    `\nengine   tokens/s   median step   vs torch   vs stock   losses (first steps)${rounds > 1 ? `   [median of ${rounds} rounds]` : ''}`,
  );
  const stockTps = perEngine('stock').map((r) => r.tokens_per_s!);
  for (const e of engines) {
    const runs = perEngine(e);
    if (runs.length === 0) {
      console.log(`${e.padEnd(8)} skipped: ${all[0]!.find((r) => r.engine === e)?.skipped}`);
      continue;
    }
    const tps = median(runs.map((r) => r.tokens_per_s!));
    const ratios = all
      .map((rs) => {
        const a = rs.find((r) => r.engine === e)?.tokens_per_s;
        const b = rs.find((r) => r.engine === 'torch')?.tokens_per_s;
        return a && b ? a / b : undefined;
      })
      .filter((x): x is number => x !== undefined);
    const vsT = ratios.length ? `${median(ratios).toFixed(3)}x` : 'n/a';
    const vsS = stockTps.length ? `${(tps / median(stockTps)).toFixed(1)}x` : 'n/a';
    const ls = Array.isArray(runs[0]!.losses)
      ? (runs[0]!.losses as number[])
          .slice(0, 4)
          .map((l) => l.toFixed(4))
          .join(' ')
      : '';
    const step = (8 * 128) / tps;
    console.log(
      `${e.padEnd(8)} ${tps.toFixed(0).padStart(8)}   ${step.toFixed(3).padStart(9)} s   ${vsT.padStart(8)}   ${vsS.padStart(8)}   ${ls}`,
    );
  }
  console.log(`JSON ${JSON.stringify(all)}`);
}
