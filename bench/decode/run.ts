/**
 * Batch-1 greedy decoding and prefill speed of our decoder against llama.cpp, in one run, on the same f32 weights
 * and the same thread count:
 *   ours       the engine as users get it: `createEngine` (TfPeftEngine: the wasm backend with the engine's
 *              kernels, the native addon when built), its `TfBaseModel`'s decoder driven by `generateTokens`,
 *              the loop `generate()` runs (greedy, KV cache, last-position logits only);
 *   llama.cpp  node-llama-cpp 3.21.1 (tests/'s devDependency, its shipped CPU build) on the GGUF file our
 *              writer exports from the same checkpoint (`exportGguf`, float32), its defaults otherwise.
 * Models: `tiny`, the embedded model; `smollm2_135m`, a random checkpoint of SmolLM2-135M's shape (hidden 576,
 * intermediate 1536, 30 layers, 9 heads, 3 KV heads, vocab 49152, tied embeddings, float32), whose byte-level
 * tokenizer is the embedded one grown to 49152 ids by merges (helpers.ts, growByteLevelVocab).
 *   prefill  a prompt of --prompt-tokens ids (BOS first) to its first token: prompt tokens / time to it
 *   decode   --new-tokens greedy tokens after a short prompt: (tokens - 1) / time from the first to the last
 * One unmeasured warm-up, then --rounds rounds, each running ours and llama.cpp back to back (who goes first
 * alternates), so both meet the same CPU weather; medians. Both must write the same greedy tokens (checked,
 * printed). RSS: what the process gained loading each model and running it once (after a GC).
 * The last line is `RESULT {json}`.
 *
 *   pnpm bench:decode [--threads 2] [--wasm-threads N] [--rounds 5] [--prompt-tokens 256] [--new-tokens 64]
 *                     [--models tiny,smollm2_135m] [--work DIR] [--profile]
 * --profile adds, per model, where our decode's time goes (tf.profile's kernels, by name).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createEngine, exportGguf } from '@oppu/node';
import {
  defaultWasmThreads,
  generateTokens,
  initBackend,
  type LlamaModel,
  SMOLLM2_135M_SIZES,
  writeRandomCheckpoint,
} from '@oppu/trainer';
import { kernelsInfo, nativeKernels } from '@oppu/trainer/kernels';
import { cpuModel, tf } from '../bench-env.js';
import {
  decodeRate,
  firstDifference,
  growByteLevelVocab,
  type KernelCall,
  kernelBreakdown,
  median,
  prefillRate,
  promptOfLength,
  type TokenTimes,
} from './helpers.js';

const { values: opt } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    'wasm-threads': { type: 'string' },
    rounds: { type: 'string', default: '5' },
    'prompt-tokens': { type: 'string', default: '256' },
    'new-tokens': { type: 'string', default: '64' },
    models: { type: 'string', default: 'tiny,smollm2_135m' },
    work: { type: 'string', default: join(tmpdir(), 'oppu-bench-decode') },
    profile: { type: 'boolean', default: false },
    export: { type: 'string' }, // internal: write a model's checkpoint and GGUF file, in a child process
  },
});
const positive = (name: string, value: string, min = 1) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`bench:decode: --${name} must be a whole number >= ${min}, got ${value}`);
    process.exit(2);
  }
  return n;
};
const threads = positive('threads', opt.threads);
/**
 * XNNPACK threads of the wasm backend (the small element-wise ops between the products): by default what
 * `createEngine` picks on this machine (`defaultWasmThreads`: 1 below 4 cores), at most `--threads`. Two wasm
 * threads on 2 cores fight the native kernels' threads: SmolLM2-135M's shape decoded 17.4-20.0 tokens/s with
 * `--wasm-threads 2` against 22.2-22.5 with 1 (2026-12-03, runs alternated).
 */
const wasmThreads =
  opt['wasm-threads'] === undefined
    ? Math.min(threads, defaultWasmThreads())
    : positive('wasm-threads', opt['wasm-threads']);
const rounds = positive('rounds', opt.rounds);
const promptTokens = positive('prompt-tokens', opt['prompt-tokens'], 2);
const newTokens = positive('new-tokens', opt['new-tokens'], 2);
const MODELS = ['tiny', 'smollm2_135m'] as const;
type ModelKey = (typeof MODELS)[number];
const models = opt.models.split(',') as ModelKey[];
for (const m of models)
  if (!MODELS.includes(m)) {
    console.error(`bench:decode: --models: "${m}" is not one of ${MODELS.join(', ')}`);
    process.exit(2);
  }

const PROMPT_TEXT =
  'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.';
const SHORT_PROMPT = 'Once upon a time, in a small town by the sea,';
const PROFILE_TOKENS = 16;

// node-llama-cpp is a devDependency of tests/ (bench/ is not a workspace package): resolved from there.
type LlamaCppModule = typeof import('node-llama-cpp');
type LlamaCppModel = Awaited<ReturnType<Awaited<ReturnType<LlamaCppModule['getLlama']>>['loadModel']>>;
type LlamaCppSequence = ReturnType<Awaited<ReturnType<LlamaCppModel['createContext']>>['getSequence']>;
const testsRequire = createRequire(fileURLToPath(new URL('../../tests/package.json', import.meta.url)));
const llamaCppEntry = testsRequire.resolve('node-llama-cpp'); // <package>/dist/index.js
const llamaCpp = (await import(pathToFileURL(llamaCppEntry).href)) as LlamaCppModule;
const llamaCppVersion = (
  JSON.parse(await readFile(join(dirname(dirname(llamaCppEntry)), 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const rssMib = () => {
  gc();
  return process.memoryUsage().rss / 2 ** 20;
};
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

if (opt.export) {
  const key = opt.export as ModelKey;
  const { dir, gguf } = modelFiles(key);
  await mkdir(opt.work, { recursive: true });
  if (dir) {
    await writeSmollm2(dir);
    // The GGUF file of this checkpoint, unless it was written after the checkpoint.
    const written = existsSync(gguf) ? statSync(gguf).mtimeMs : 0;
    if (written > statSync(join(dir, 'bench-decode.json')).mtimeMs) process.exit(0);
  }
  await exportGguf({ ...(dir ? { baseModelDir: dir } : {}), out: gguf });
  process.exit(0);
}

// Ours: the wasm backend with `wasmThreads` XNNPACK threads and `threads` native kernel threads.
const backend = await initBackend({ backend: 'wasm', wasmThreads, log: () => {} });
if (backend.threads !== wasmThreads)
  throw new Error(`bench:decode: asked the wasm backend for ${wasmThreads} threads, got ${backend.threads}`);
const llama = await llamaCpp.getLlama({
  gpu: false,
  build: 'never',
  logLevel: 'error' as never,
  maxThreads: threads,
});

console.log(
  `bench:decode on ${cpuModel()} (${availableParallelism()} cores), node ${process.version}, ${threads} thread${threads === 1 ? '' : 's'} each; load average ${load()}`,
);
console.log(
  `prefill: a ${promptTokens}-token prompt to its first token; decode: ${newTokens} greedy tokens after a short prompt; ${rounds} rounds after a warm-up, medians`,
);

/** The random SmolLM2-135M-shaped checkpoint (float32) with its grown byte-level tokenizer; kept in --work. */
async function writeSmollm2(dir: string): Promise<void> {
  const stamp = join(dir, 'bench-decode.json');
  const want = JSON.stringify({ seed: 1, sizes: SMOLLM2_135M_SIZES, dtype: 'float32', vocab: 'grown-v1' });
  if (existsSync(stamp) && (await readFile(stamp, 'utf8')) === want) return;
  console.log(`writing a random SmolLM2-135M-shaped checkpoint to ${dir} ...`);
  await writeRandomCheckpoint(dir, 'smollm2', { seed: 1, dtype: 'float32', sizes: SMOLLM2_135M_SIZES });
  const tiny = fileURLToPath(new URL('../../packages/model-tiny/model/', import.meta.url));
  const tokenizer = JSON.parse(await readFile(join(tiny, 'tokenizer.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const grown = growByteLevelVocab(tokenizer, SMOLLM2_135M_SIZES.vocab_size);
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(grown));
  const config = JSON.parse(await readFile(join(tiny, 'tokenizer_config.json'), 'utf8')) as object;
  await writeFile(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ ...config, model_max_length: SMOLLM2_135M_SIZES.max_position_embeddings }, null, 2),
  );
  await writeFile(
    join(dir, 'special_tokens_map.json'),
    await readFile(join(tiny, 'special_tokens_map.json'), 'utf8'),
  );
  await writeFile(stamp, want);
}

function modelFiles(key: ModelKey) {
  return {
    dir: key === 'tiny' ? undefined : join(opt.work, 'smollm2-135m'),
    gguf: join(opt.work, `${key}.gguf`),
  };
}

interface Run {
  readonly times: TokenTimes;
  readonly tokens: number[];
}

async function oursRun(model: LlamaModel, padId: number, prompt: number[], n: number): Promise<Run> {
  const stamps: number[] = [];
  const tokens: number[] = [];
  const start = performance.now();
  // No stop ids: both sides make exactly n tokens (a random model may pick EOS).
  for await (const step of generateTokens(model, [prompt], {
    maxNewTokens: n,
    temperature: 0,
    padId,
    stopIds: [],
  })) {
    stamps.push(performance.now());
    tokens.push((step.tokens[0] as { token: number }).token);
  }
  return { times: { start, stamps }, tokens };
}

async function llamaRun(sequence: LlamaCppSequence, prompt: number[], n: number): Promise<Run> {
  await sequence.clearHistory();
  const stamps: number[] = [];
  const tokens: number[] = [];
  const start = performance.now();
  for await (const token of sequence.evaluate(prompt as never[], { temperature: 0 })) {
    stamps.push(performance.now());
    tokens.push(token as number);
    if (tokens.length >= n) break;
  }
  return { times: { start, stamps }, tokens };
}

interface Side {
  prefill: number[];
  decode: number[];
  rssMib: number;
}

async function bench(key: ModelKey) {
  // Written by a child process, so that the memory of writing them is not counted in the RSS here.
  execFileSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--export', key, '--work', opt.work],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const { dir, gguf } = modelFiles(key);

  const rss0 = rssMib();
  const engine = await createEngine({ ...(dir ? { baseModelDir: dir } : {}), onLog: () => {} });
  const native = nativeKernels();
  native?.setThreads(threads);
  if (native && native.info().threads !== threads)
    throw new Error(
      `bench:decode: asked the native kernels for ${threads} threads, got ${native.info().threads}`,
    );
  const tfModel = engine.model;
  const decoder = tfModel.model;
  const tok = tfModel.tokenizer;
  const padId = tok.padId ?? tok.eosId ?? 0;
  const encode = (text: string) => tok.encode(text);
  const longPrompt = promptOfLength(encode, PROMPT_TEXT, promptTokens);
  const shortPrompt = encode(SHORT_PROMPT);
  await oursRun(decoder, padId, longPrompt, 1); // warm-up: compiles, grows the wasm heap
  await oursRun(decoder, padId, shortPrompt, Math.min(newTokens, 4));
  const oursRss = rssMib() - rss0;

  const rss1 = rssMib();
  const lModel = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
  const context = await lModel.createContext({
    contextSize: Math.max(promptTokens + 1, shortPrompt.length + newTokens) + 16,
    batchSize: promptTokens + 16,
    threads: { ideal: threads, min: threads },
  });
  const sequence = context.getSequence();
  await llamaRun(sequence, longPrompt, 1);
  await llamaRun(sequence, shortPrompt, Math.min(newTokens, 4));
  const llamaRss = rssMib() - rss1;
  const llamaTokenized = [lModel.tokens.bos as number, ...lModel.tokenize(SHORT_PROMPT)];
  const sameTokenizer = firstDifference(llamaTokenized, shortPrompt) === -1;

  console.log(
    `\n${key}: ${tfModel.info.name}, ${(tfModel.info.parameters / 1e6).toFixed(1)}M parameters, vocab ${tfModel.info.vocabSize}; ours: wasm x${backend.threads}, matMul ${kernelsInfo().matMul}, native ${native ? `${native.info().isa} x${native.info().threads}` : 'off'}; llama.cpp ${llamaCppVersion}: ${context.currentThreads} threads, ${gguf}`,
  );
  console.log(
    `  llama.cpp tokenizes the short prompt to our ids: ${sameTokenizer ? 'yes' : `no (ours ${shortPrompt.join(',')}, llama.cpp ${llamaTokenized.join(',')})`}`,
  );
  const ours: Side = { prefill: [], decode: [], rssMib: oursRss };
  const cpp: Side = { prefill: [], decode: [], rssMib: llamaRss };
  let agree = true;
  let firstDiff = -1;
  let sample: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const oursFirst = r % 2 === 0;
    const pair = async (a: () => Promise<Run>, b: () => Promise<Run>) => {
      if (oursFirst) return [await a(), await b()] as const;
      const [y, x] = [await b(), await a()];
      return [x, y] as const;
    };
    const [op, lp] = await pair(
      () => oursRun(decoder, padId, longPrompt, 1),
      () => llamaRun(sequence, longPrompt, 1),
    );
    const [od, ld] = await pair(
      () => oursRun(decoder, padId, shortPrompt, newTokens),
      () => llamaRun(sequence, shortPrompt, newTokens),
    );
    ours.prefill.push(prefillRate(promptTokens, op.times));
    cpp.prefill.push(prefillRate(promptTokens, lp.times));
    ours.decode.push(decodeRate(od.times));
    cpp.decode.push(decodeRate(ld.times));
    const diff = firstDifference([...op.tokens, ...od.tokens], [...lp.tokens, ...ld.tokens]);
    if (diff !== -1) {
      agree = false;
      if (firstDiff === -1) firstDiff = diff;
    }
    sample = od.tokens;
    console.log(
      `  round ${r + 1} (${oursFirst ? 'ours first' : 'llama.cpp first'}): prefill ours ${ours.prefill.at(-1)!.toFixed(0)} / llama.cpp ${cpp.prefill.at(-1)!.toFixed(0)} tokens/s; decode ours ${ours.decode.at(-1)!.toFixed(1)} / llama.cpp ${cpp.decode.at(-1)!.toFixed(1)} tokens/s; load ${load()}`,
    );
  }
  if (opt.profile) {
    // Where our decode's time goes: every kernel of a decode run, timed by tf.profile (its overhead included).
    const start = performance.now();
    const info = await tf.profile(async () => {
      await oursRun(decoder, padId, shortPrompt, PROFILE_TOKENS);
      return [];
    });
    const wall = performance.now() - start;
    console.log(
      `  profile of our decode (${PROFILE_TOKENS} tokens after the ${shortPrompt.length}-token prompt, ${wall.toFixed(0)} ms, ${info.kernels.length} kernel calls):`,
    );
    for (const k of kernelBreakdown(info.kernels as KernelCall[], wall))
      console.log(
        `    ${k.name.padEnd(22)} ${k.calls ? String(k.calls).padStart(5) : '     '} calls ${k.ms.toFixed(0).padStart(7)} ms ${(100 * k.share).toFixed(1).padStart(5)}%`,
      );
  }
  await context.dispose();
  await lModel.dispose();
  engine.dispose();

  const res = {
    ours_prefill_tokens_per_s: median(ours.prefill),
    llamacpp_prefill_tokens_per_s: median(cpp.prefill),
    ours_decode_tokens_per_s: median(ours.decode),
    llamacpp_decode_tokens_per_s: median(cpp.decode),
    prefill_ratio_vs_llamacpp: median(ours.prefill) / median(cpp.prefill),
    decode_ratio_vs_llamacpp: median(ours.decode) / median(cpp.decode),
    greedy_tokens_agree: agree,
    ...(agree ? {} : { first_difference: firstDiff }),
    same_prompt_ids: sameTokenizer,
    ours_rss_mib: Math.round(ours.rssMib),
    llamacpp_rss_mib: Math.round(cpp.rssMib),
  };
  const row = (label: string, o: number, l: number, d: number) =>
    `  ${label.padEnd(8)} ours ${o.toFixed(d).padStart(8)}  llama.cpp ${l.toFixed(d).padStart(8)}  ratio ${(o / l).toFixed(2)}x  (tokens/s, median of ${rounds})`;
  console.log(row('prefill', res.ours_prefill_tokens_per_s, res.llamacpp_prefill_tokens_per_s, 0));
  console.log(row('decode', res.ours_decode_tokens_per_s, res.llamacpp_decode_tokens_per_s, 1));
  console.log(
    `  greedy tokens: ${agree ? `agree (the prefill's token and all ${newTokens} decoded, every round)` : `DIFFER from position ${firstDiff} (prefill token first, then the decoded ones)`}; decoded: ${sample.slice(0, 12).join(' ')} ...`,
  );
  console.log(
    `  RSS gained loading and running once: ours ${res.ours_rss_mib} MiB, llama.cpp ${res.llamacpp_rss_mib} MiB (process now ${Math.round(rssMib())} MiB, peak ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB)`,
  );
  return res;
}

const results: Record<string, Awaited<ReturnType<typeof bench>>> = {};
for (const key of models) results[key] = await bench(key);
await llama.dispose();
console.log(`\nload average ${load()}`);
console.log(
  `RESULT ${JSON.stringify({ threads, wasm_threads: wasmThreads, rounds, prompt_tokens: promptTokens, new_tokens: newTokens, ...results })}`,
);
