// Decoding and prefill speed of @oppu/trainer's LlamaModel on the wasm backend, by wasm thread count, on
// Karpathy's stories260K (../shared/fixtures/stories260K/stories260K.bin, not committed):
//   decode   64 KV-cached greedy steps from BOS, batch 1: ms per token (mean of the 64)
//   forward  one forward of 8 x 128 ids, no cache: ms (median of 3)
// Each (mode, threads) runs in its own process (tfjs creates the wasm module, with its threads, once per
// process), after one unmeasured pass of the same work. Modes:
//   kernels  installKernels() as TfPeftEngine does (native addon when built)
//   stock    OPPU_NATIVE=0 and no installKernels(): stock tfjs-backend-wasm, the fused kernels' plain-tf path
// --runs N repeats every (mode, threads) N times in turn, so each meets the same CPU weather.
//
// Usage: pnpm --filter @oppu/trainer exec tsx --conditions=source ../../bench/decode-threads/run.ts
//        [--threads 1,2] [--modes kernels,stock] [--runs 2]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend, KVCache, LlamaModel, loadLlama2c } from '@oppu/trainer';
import { installKernels, kernelsInfo } from '@oppu/trainer/kernels';
import { cpuModel, median, tf } from '../bench-env.js';

const { values: opt } = parseArgs({
  options: {
    threads: { type: 'string', default: '1,2' },
    modes: { type: 'string', default: 'kernels,stock' },
    runs: { type: 'string', default: '2' },
    child: { type: 'string' }, // internal: "<mode>:<threads>"
  },
});
const fixture = fileURLToPath(
  new URL('../../../shared/fixtures/stories260K/stories260K.bin', import.meta.url),
);

interface Result {
  mode: string;
  threads: number;
  decode_ms_per_token: number;
  forward_ms: number;
  matMul: string;
}

async function child(mode: string, threads: number): Promise<Result> {
  const info = await initBackend({ backend: 'wasm', wasmThreads: threads, log: () => {} });
  if (info.threads !== threads) throw new Error(`asked for ${threads} wasm threads, got ${info.threads}`);
  if (mode === 'kernels') installKernels();
  const { config, weights } = await loadLlama2c(fixture);
  const model = new LlamaModel(config, weights);
  const bos = 1;
  const decode = () => {
    const cache = new KVCache();
    let next = bos;
    const t0 = performance.now();
    for (let p = 0; p < 64; p++) {
      const ids = tf.tensor2d([[next]], [1, 1], 'int32');
      const logits = model.forward(ids, { cache });
      const row = logits.dataSync();
      tf.dispose([ids, logits]);
      next = row.indexOf(Math.max(...row));
    }
    cache.dispose();
    return (performance.now() - t0) / 64;
  };
  const ids = tf.tensor2d(
    Int32Array.from({ length: 8 * 128 }, (_, i) => (i * 37 + 11) % config.vocab),
    [8, 128],
    'int32',
  );
  const forward = () => {
    const t0 = performance.now();
    const y = model.forward(ids);
    y.dataSync();
    y.dispose();
    return performance.now() - t0;
  };
  decode(); // unmeasured pass: compiles, grows wasm memory, builds caches
  forward();
  const decodeMs = decode();
  const forwardMs = median([forward(), forward(), forward()]);
  ids.dispose();
  model.dispose();
  return {
    mode,
    threads,
    decode_ms_per_token: decodeMs,
    forward_ms: forwardMs,
    matMul: kernelsInfo().matMul,
  };
}

if (opt.child) {
  const [mode, threads] = opt.child.split(':');
  const r = await child(mode!, Number(threads));
  console.log(`JSON ${JSON.stringify(r)}`);
  process.exit(0);
}

if (!existsSync(fixture)) {
  console.log(`decode-threads: ${fixture} is absent (stories260K is not committed); nothing to measure`);
  process.exit(0);
}
const threads = opt.threads.split(',').map(Number);
const modes = opt.modes.split(',');
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(
  `decode-threads on ${cpuModel()} (${availableParallelism()} cores), node ${process.version}; stories260K; load average ${load()}`,
);
const results: Result[] = [];
for (let run = 0; run < Number(opt.runs); run++) {
  for (const mode of modes) {
    for (const n of threads) {
      const out = execFileSync(
        process.execPath,
        [...process.execArgv, fileURLToPath(import.meta.url), '--child', `${mode}:${n}`],
        {
          encoding: 'utf8',
          env: { ...process.env, OPPU_QUIET: '1', ...(mode === 'stock' ? { OPPU_NATIVE: '0' } : {}) },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const line = out.split('\n').find((l) => l.startsWith('JSON '));
      if (!line) throw new Error(`child ${mode}:${n} printed no result:\n${out}`);
      const r = JSON.parse(line.slice(5)) as Result;
      results.push(r);
      console.log(
        `  run ${run + 1} ${mode.padEnd(7)} ${n} thread${n === 1 ? ' ' : 's'}: decode ${r.decode_ms_per_token.toFixed(1)} ms/token, forward 8x128 ${r.forward_ms.toFixed(0)} ms (matMul ${r.matMul})`,
      );
    }
  }
}
console.log(`load average ${load()}\n`);
console.log('mode     threads   decode ms/token (runs)      forward 8x128 ms (runs)');
for (const mode of modes) {
  for (const n of threads) {
    const rs = results.filter((r) => r.mode === mode && r.threads === n);
    const fmt = (xs: number[], d: number) => xs.map((x) => x.toFixed(d)).join(' / ');
    console.log(
      `${mode.padEnd(8)} ${String(n).padStart(7)}   ${fmt(
        rs.map((r) => r.decode_ms_per_token),
        1,
      ).padEnd(26)}  ${fmt(
        rs.map((r) => r.forward_ms),
        0,
      )}`,
    );
  }
}
