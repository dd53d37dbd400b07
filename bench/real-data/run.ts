/**
 * Speed on real data: `oppu run --method oppu` end to end on a LaMP-6-shaped file of real public text (see
 * make-data.ts and README.md), with the wall time of each stage and the peak RSS of the `oppu` process. The goal
 * is at most 10 minutes on 2 cores. Ends with one line `RESULT {json}` (seconds, rss_mb, stages, and on a failure
 * the error, the stage and how far it had got).
 *
 *   pnpm bench:real-data [--data /tmp/oppu-real-data] [--method oppu] [--timeout-s 1800] [make-data's flags]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeRealData, REAL_DATA_OPTIONS, realDataOptions, writeRealData } from './make-data.js';

const { values } = parseArgs({
  options: {
    ...REAL_DATA_OPTIONS,
    data: { type: 'string' },
    method: { type: 'string', default: 'oppu' },
    'timeout-s': { type: 'string', default: '1800' },
  },
});
const dir = values.data ?? values.out;
const timeoutMs = Number(values['timeout-s']) * 1000;
if (!(timeoutMs > 0)) throw new Error(`--timeout-s must be a positive number, got "${values['timeout-s']}"`);
const GOAL_SECONDS = 600;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

// 1. The data.
let t0 = performance.now();
const data = makeRealData(realDataOptions(values));
const files = await writeRealData(dir, data);
const dataSeconds = (performance.now() - t0) / 1000;
const { shape } = data;
console.error(
  `real-data: ${shape.users} users, ${shape.queries} queries, ${shape.historyItems.min}-${shape.historyItems.max} history items a user (${shape.historyItems.total} in all), item words ${shape.itemWords.min}-${shape.itemWords.max} (median ${shape.itemWords.median}), ${(files.bytes / 1e6).toFixed(1)} MB, made in ${dataSeconds.toFixed(1)} s`,
);

// 2. `oppu run`, in a child so that its time and memory are its own.
const task = data.outputs.task;
const args = [
  'run',
  '--task',
  task,
  '--questions',
  files.questions,
  '--method',
  values.method,
  '--out',
  join(dir, `preds-${values.method}.json`),
];
console.error(`real-data: oppu ${args.join(' ')}`);
const root = fileURLToPath(new URL('../../', import.meta.url));
t0 = performance.now();
const child = spawn(
  process.execPath,
  [
    '--conditions',
    'source',
    '--import',
    'tsx',
    fileURLToPath(new URL('./cli-child.ts', import.meta.url)),
    ...args,
  ],
  { cwd: root, env: { ...process.env, OPPU_DEBUG: '1' }, stdio: ['ignore', 'inherit', 'pipe'] },
);
const elapsed = () => (performance.now() - t0) / 1000;

/** Peak RSS so far from /proc (Linux); the child also reports its own peak when it ends normally. */
let peakKb = 0;
const readPeak = () => {
  try {
    const m = /VmHWM:\s*(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    if (m) peakKb = Math.max(peakKb, Number(m[1]));
  } catch {
    // gone, or not Linux
  }
};
const poll = setInterval(readPeak, 250);
let timedOut = false;
const killer = setTimeout(() => {
  timedOut = true;
  child.kill('SIGKILL');
}, timeoutMs);

/** The stage a progress label of `oppu run` belongs to. */
const stageOf = (label: string) =>
  label === 'task adaptation'
    ? 'task_adaptation'
    : label === 'personalization' || label.startsWith('users ')
      ? 'personalization'
      : label === 'inference'
        ? 'inference'
        : label === 'profiles'
          ? 'profiles'
          : label;

// Each stage runs from the end of the one before to its last progress event; setup ends at the note that
// `oppu run` prints just before the pipeline starts.
const stageEnds = new Map<string, number>();
let setupEnd: number | undefined;
let last: { label: string; done: number; total: number; at: number } | undefined;
let personalizationDone = false;
let lastShown = 0;
const tail: string[] = [];
let fatalLine: string | undefined;
let childPeakKb = 0;
let exitCode: number | null = null;
let cliSeconds: Record<string, number> | undefined;

let buffer = '';
child.stderr.setEncoding('utf8');
child.stderr.on('data', (chunk: string) => {
  buffer += chunk;
  for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
    onLine(buffer.slice(0, nl));
    buffer = buffer.slice(nl + 1);
  }
});

function onLine(line: string): void {
  const at = elapsed();
  const [tag, , ...rest] = line.split('\t');
  if (tag === '@@progress') {
    const [label = '', done = '0', total = '0'] = rest;
    const stage = stageOf(label);
    if (stageEnds.get(stage) === undefined && !(last && stageOf(last.label) === stage)) {
      console.error(`[${at.toFixed(1).padStart(7)} s] ${stage}`);
      lastShown = at;
    } else if (at - lastShown >= 30) {
      // Within a long stage, where it is, every 30 s.
      console.error(`[${at.toFixed(1).padStart(7)} s] ${stage} ${done}/${total}`);
      lastShown = at;
    }
    stageEnds.set(stage, at);
    last = { label, done: Number(done), total: Number(total), at };
    if (label === 'personalization' && done === total) personalizationDone = true;
    return;
  }
  if (tag === '@@end') {
    exitCode = Number(rest[0]);
    childPeakKb = Number(rest[1]);
    return;
  }
  if (tag === '@@fatal') fatalLine = rest.join(' ');
  if (/^oppu run: \S+ on \S+, \d+ questions/.test(line)) setupEnd = at;
  const m = /task adaptation ([\d.]+) s, personalization ([\d.]+) s, inference ([\d.]+) s/.exec(line);
  if (m) {
    cliSeconds = {
      task_adaptation: Number(m[1]),
      personalization: Number(m[2]),
      inference: Number(m[3]),
    };
  }
  tail.push(line);
  if (tail.length > 200) tail.shift();
  console.error(`  | ${line}`);
}

const signal = await new Promise<string | null>((resolve) => {
  child.on('exit', (code, sig) => {
    if (exitCode === null) exitCode = code;
    resolve(sig);
  });
});
const seconds = elapsed();
clearInterval(poll);
clearTimeout(killer);
const rssMb = round(Math.max(peakKb, childPeakKb) / 1024, 0);
const ok = exitCode === 0 && !timedOut;

// Stage spans, in the order the pipeline runs them; the stage a failure happened in is the one after the last
// stage that finished.
const stages: Record<string, number> = {};
let from = 0;
const add = (name: string, end: number | undefined) => {
  if (end === undefined) return;
  stages[name] = round(end - from);
  from = end;
};
add('setup', setupEnd);
for (const stage of ['profiles', 'task_adaptation', 'personalization', 'inference'])
  add(stage, stageEnds.get(stage));
if (ok) stages.write_and_exit = round(seconds - from);

let failedStage: string | undefined;
let error: string | undefined;
let stack: string[] | undefined;
if (!ok) {
  if (setupEnd === undefined) failedStage = 'setup';
  else if (!last) {
    // No progress event yet: the method's first stage (this bench gives no --task-train).
    failedStage = values.method.includes('pag')
      ? 'profiles'
      : values.method.startsWith('oppu')
        ? 'personalization'
        : 'inference';
  } else {
    const stage = stageOf(last.label);
    failedStage =
      stage === 'personalization' && personalizationDone
        ? 'inference'
        : stage === 'task_adaptation' && last.done === last.total
          ? 'personalization'
          : stage;
  }
  stages[`${failedStage} (until the failure)`] = round(seconds - from);
  if (timedOut) error = `no result after ${values['timeout-s']} s (killed)`;
  else if (signal) error = `killed by ${signal}`;
  else {
    const lines = tail.filter((l) => l.trim() !== '');
    const i = lines.findLastIndex(
      (l) => /^oppu( run)?: /.test(l) && !/^oppu run: (stage 1|no stage 1|\S+ on )/.test(l),
    );
    error = fatalLine ?? (i >= 0 ? lines[i] : lines[lines.length - 1]);
    const from = i >= 0 ? i + 1 : 0;
    stack = lines
      .slice(from)
      .filter((l) => /^\s+at /.test(l) && !l.includes('wasm://'))
      .slice(0, 24)
      .map((l) => l.trim());
  }
}

// The engine's own settings, as the child saw them.
const machineEnv: Record<string, string | undefined> = process.env;
const result = {
  bench: 'real-data',
  method: values.method,
  task,
  ok,
  exit_code: exitCode,
  seconds: round(seconds),
  rss_mb: rssMb,
  goal_seconds: GOAL_SECONDS,
  within_goal: ok && seconds <= GOAL_SECONDS,
  stages,
  ...(cliSeconds ? { cli_seconds: cliSeconds } : {}),
  ...(ok
    ? {}
    : {
        failed_stage: failedStage,
        progress_at_failure: last ? `${last.label} ${last.done}/${last.total} at ${round(last.at)} s` : null,
        error,
        ...(stack && stack.length > 0 ? { stack } : {}),
      }),
  data: {
    dir,
    seconds: round(dataSeconds),
    mb: round(files.bytes / 1e6),
    users: shape.users,
    queries: shape.queries,
    history_items: shape.historyItems,
    item_words: shape.itemWords,
    query_words: shape.queryWords,
    sources: shape.sources,
  },
  machine: {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    wasm_threads: machineEnv.OPPU_WASM_THREADS ?? 'default',
    native: machineEnv.OPPU_NATIVE ?? 'default',
  },
};

console.log('');
console.log(`${'stage'.padEnd(36)}  seconds`);
for (const [name, s] of Object.entries(stages)) console.log(`${name.padEnd(36)} ${s.toFixed(1).padStart(8)}`);
console.log(`${'total (oppu run)'.padEnd(36)} ${seconds.toFixed(1).padStart(8)}   peak RSS ${rssMb} MB`);
if (!ok) console.log(`FAILED in ${failedStage}: ${error}`);
console.log(`RESULT ${JSON.stringify(result)}`);
