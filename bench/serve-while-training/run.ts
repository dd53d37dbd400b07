/**
 * Serving while training (issue 19): the real playground server (`startPlayground`, as `pnpm start` runs it) in
 * this process on loopback, on the embedded model, with its access token. N users ask personalized questions
 * (OPPU+RAG, k = 1: their own adapter and their top history item) one after another, and a cheap endpoint
 * (`GET /api/info`) is polled, first with nothing training ("idle"), then while M other users train without
 * pause ("training": each starts a new training as soon as the last one ends).
 *
 *     pnpm bench:serve-while-training [--users 3] [--trainers 1] [--seconds 20] [--steps 20] [--workers 1]
 *                                     [--poll-ms 25] [--seed 1] [--requests 0]
 *
 * Every training (the askers' first ones in the set-up, then the trainers' back-to-back ones) runs `--steps`
 * steps: short jobs keep the set-up short, and a trainer starting its next job at once keeps the training
 * load continuous through the measured phase.
 *
 * Prints p50/p99/max per endpoint and phase, the event-loop delay, RSS and heap (after a GC) before and after
 * the measured requests, and a last line `RESULT {json}`. `--workers 0` runs the model on the server's thread
 * (how the playground ran before the worker pool), for comparison.
 *
 * `--requests N` then checks that memory stays flat: N more asks (the askers round robin, nothing training),
 * with RSS and heap after a GC before them, halfway and after them (`rss_mb_asks`, `heap_mb_asks` in RESULT). RSS
 * counts the whole process, the engine workers' heaps and wasm memory included; the heap is the server thread's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
// The playground is an app that nothing depends on, so its server factory is imported from its source.
import { startPlayground } from '../../apps/playground/src/start-playground.js';
import { lamp2mPeople } from '../lib/lamp2m-people.js';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '3' },
    trainers: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '20' },
    steps: { type: 'string', default: '20' },
    workers: { type: 'string', default: '1' },
    'poll-ms': { type: 'string', default: '25' },
    seed: { type: 'string', default: '1' },
    requests: { type: 'string', default: '0' },
  },
});
const USERS = Number(args.users);
const TRAINERS = Number(args.trainers);
const SECONDS = Number(args.seconds);
const STEPS = Number(args.steps);
const WORKERS = Number(args.workers);
const POLL_MS = Number(args['poll-ms']);
const SEED = Number(args.seed);
const REQUESTS = Number(args.requests);

const token = `bench-${Math.random().toString(36).slice(2)}-${Date.now()}`;
const home = await mkdtemp(join(tmpdir(), 'oppu-serve-train-'));
const running = await startPlayground({
  host: '127.0.0.1',
  port: 0,
  home,
  tasks: ['LaMP_2M'],
  steps: STEPS,
  demo: false,
  demoUsers: 1,
  demoItems: 2,
  logger: false,
  token,
  workers: WORKERS,
  log: (line) => console.error(line),
});
const base = running.url;
// What the access guard wants from a client that is not the page: its own Host (fetch sends it) and the token.
const headers = { authorization: `Bearer ${token}` };

const people = lamp2mPeople(USERS + TRAINERS, SEED, (i) => (i < USERS ? `asker${i}` : `trainer${i - USERS}`));
const askers = people.slice(0, USERS);
const trainers = people.slice(USERS);

const errors: string[] = [];
async function call(method: string, path: string, body?: unknown): Promise<{ ms: number; json: unknown }> {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  if (res.status >= 300) errors.push(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return { ms, json: text ? JSON.parse(text) : undefined };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function trainToEnd(id: string): Promise<string> {
  await call('POST', `/api/users/${id}/training`, {});
  for (;;) {
    await sleep(200);
    const { json } = await call('GET', `/api/users/${id}/training`);
    const state = (json as { job?: { state: string } }).job?.state ?? 'none';
    if (state !== 'queued' && state !== 'running') return state;
  }
}

// Set-up: every user with their history; every asker with an adapter (their answers are personalized).
const setupStarted = performance.now();
for (const p of people) {
  await call('POST', '/api/users', { id: p.id });
  await call('POST', `/api/users/${p.id}/items`, { items: p.items });
}
for (const p of askers) {
  const state = await trainToEnd(p.id);
  if (state !== 'done') errors.push(`set-up training of ${p.id}: ${state}`);
}
console.error(
  `set-up: ${USERS} askers trained (${STEPS} steps each) in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`,
);

interface Phase {
  info: number[];
  ask: number[];
  loopP99: number;
  loopMax: number;
  trainings: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
function memory() {
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 };
}

async function phase(name: string, train: boolean): Promise<Phase> {
  const out: Phase = { info: [], ask: [], loopP99: 0, loopMax: 0, trainings: 0 };
  let stop = false;
  const loops: Promise<void>[] = [];
  if (train) {
    for (const t of trainers) {
      loops.push(
        (async () => {
          while (!stop) {
            const state = await trainToEnd(t.id);
            if (state === 'done') out.trainings++;
            else if (!stop) errors.push(`training of ${t.id}: ${state}`);
          }
        })(),
      );
    }
    // Measure only once the trainings are running.
    for (;;) {
      const { json } = await call('GET', `/api/users/${trainers[0]!.id}/training`);
      if ((json as { job?: { state: string } }).job?.state === 'running') break;
      await sleep(50);
    }
  }
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const until = Date.now() + SECONDS * 1000;
  const measured: Promise<void>[] = [];
  measured.push(
    (async () => {
      while (Date.now() < until) {
        out.info.push((await call('GET', '/api/info')).ms);
        await sleep(POLL_MS);
      }
    })(),
  );
  for (const [i, p] of askers.entries()) {
    measured.push(
      (async () => {
        let n = i;
        while (Date.now() < until) {
          const question = p.questions[n++ % p.questions.length]!;
          const { ms, json } = await call('POST', `/api/users/${p.id}/ask`, {
            question,
            methods: ['oppu+rag'],
          });
          const answer = (json as { answers?: { adapterVersion?: number }[] }).answers?.[0];
          if (answer && answer.adapterVersion === undefined)
            errors.push(`${p.id}: answered without an adapter`);
          out.ask.push(ms);
          await sleep(50);
        }
      })(),
    );
  }
  await Promise.all(measured);
  delay.disable();
  out.loopP99 = delay.percentile(99) / 1e6;
  out.loopMax = delay.max / 1e6;
  stop = true;
  if (train) {
    for (const t of trainers) await call('DELETE', `/api/users/${t.id}/training`).catch(() => undefined);
    await Promise.all(loops);
  }
  console.error(
    `${name}: ${out.info.length} info, ${out.ask.length} asks, ${out.trainings} trainings finished`,
  );
  return out;
}

function pct(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const r1 = (x: number) => Math.round(x * 10) / 10;

// Warm-up: a few asks and polls, so first-use costs (JIT, the workers' first adapters) are not measured.
for (const p of askers)
  await call('POST', `/api/users/${p.id}/ask`, { question: p.questions[0]!, methods: ['oppu+rag'] });
const before = memory();
const idle = await phase('idle', false);
const training = await phase('training', true);
const after = memory();
const requests = idle.info.length + idle.ask.length + training.info.length + training.ask.length;

/** `--requests`: N asks, the askers taking turns; memory after a GC at 0, N/2 and N. */
async function memoryOverAsks(n: number) {
  const marks = [memory()];
  let sent = 0;
  let half: Promise<void> | undefined;
  await Promise.all(
    askers.map(async (p, i) => {
      let k = i;
      while (sent < n) {
        sent++;
        if (sent === Math.ceil(n / 2)) half = Promise.resolve().then(() => void marks.push(memory()));
        const question = p.questions[k++ % p.questions.length]!;
        await call('POST', `/api/users/${p.id}/ask`, { question, methods: ['oppu+rag'] });
      }
    }),
  );
  await half;
  marks.push(memory());
  return marks;
}
const asks = REQUESTS > 0 ? await memoryOverAsks(REQUESTS) : [];

console.log('\nendpoint           phase      n      p50 ms   p99 ms   max ms');
for (const [label, values] of [
  ['GET /api/info', idle.info],
  ['GET /api/info', training.info],
  ['POST /ask oppu+rag', idle.ask],
  ['POST /ask oppu+rag', training.ask],
] as const) {
  const phaseName = values === idle.info || values === idle.ask ? 'idle' : 'training';
  console.log(
    `${label.padEnd(18)} ${phaseName.padEnd(9)} ${String(values.length).padStart(5)} ${r1(pct(values, 50)).toFixed(1).padStart(8)} ${r1(pct(values, 99)).toFixed(1).padStart(8)} ${r1(
      Math.max(...values),
    )
      .toFixed(1)
      .padStart(8)}`,
  );
}
console.log(
  `event loop delay p99/max: idle ${r1(idle.loopP99)}/${r1(idle.loopMax)} ms, training ${r1(training.loopP99)}/${r1(training.loopMax)} ms`,
);
console.log(
  `memory over ${requests} requests: RSS ${r1(before.rss)} -> ${r1(after.rss)} MiB, heap ${r1(before.heap)} -> ${r1(after.heap)} MiB`,
);
if (asks.length > 0)
  console.log(
    `memory over ${REQUESTS} more asks (at 0, ${Math.ceil(REQUESTS / 2)}, ${REQUESTS}): RSS ${asks.map((m) => r1(m.rss)).join(' -> ')} MiB, heap ${asks.map((m) => r1(m.heap)).join(' -> ')} MiB`,
  );
console.log(`errors: ${errors.length}${errors.length ? `\n  ${errors.slice(0, 10).join('\n  ')}` : ''}`);

const result = {
  users: USERS,
  trainers: TRAINERS,
  workers: WORKERS,
  steps: STEPS,
  seconds: SECONDS,
  info_p50_ms_idle: r1(pct(idle.info, 50)),
  info_p99_ms_idle: r1(pct(idle.info, 99)),
  info_p50_ms_training: r1(pct(training.info, 50)),
  info_p99_ms_training: r1(pct(training.info, 99)),
  info_max_ms_training: r1(Math.max(...training.info)),
  ask_p50_ms_idle: r1(pct(idle.ask, 50)),
  ask_p99_ms_idle: r1(pct(idle.ask, 99)),
  ask_p50_ms_training: r1(pct(training.ask, 50)),
  ask_p99_ms_training: r1(pct(training.ask, 99)),
  ask_max_ms_training: r1(Math.max(...training.ask)),
  loop_delay_p99_ms_training: r1(training.loopP99),
  trainings_finished: training.trainings,
  requests,
  rss_mb_before: r1(before.rss),
  rss_mb_after: r1(after.rss),
  heap_mb_before: r1(before.heap),
  heap_mb_after: r1(after.heap),
  ...(asks.length > 0
    ? {
        requests_asks: REQUESTS,
        rss_mb_asks: asks.map((m) => r1(m.rss)),
        heap_mb_asks: asks.map((m) => r1(m.heap)),
      }
    : {}),
  errors: errors.length,
};
await running.close();
await rm(home, { recursive: true, force: true });
console.log(`RESULT ${JSON.stringify(result)}`);
