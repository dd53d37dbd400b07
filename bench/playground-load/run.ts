/**
 * Load test of the playground API (issue 12): the real playground server (`startPlayground`, as `pnpm start`
 * and the e2e test start it) in this process on loopback, on the embedded model, and N simulated users over
 * HTTP for a bounded time. Each user creates itself, adds its history, then loops: add items, ask (RAG and
 * OPPU answers side by side), or train with a few steps and follow the job to its end, with a short pause
 * between actions. Reported: errors (any unexpected status, network error or failed job; the goal is 0),
 * p50/p99 latency per route, and RSS and heap (after a GC) at the end of warm-up and at the end.
 *
 *     pnpm bench:playground-load [--seconds 180] [--users 50] [--warmup 0.5] [--steps 4] [--seed 1]
 *
 * The last line is `RESULT {json}` for tests/playground-load.test.ts. Run with --expose-gc for heap figures
 * after a full collection (the root script does).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { mulberry32 } from '@oppu/core';
// The playground is an app that nothing depends on, so its server factory is imported from its source.
import { startPlayground } from '../../apps/playground/src/start-playground.js';
import { lamp2mPeople } from '../lib/lamp2m-people.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '180' },
    users: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '0.5' },
    steps: { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
  },
});
const SECONDS = Number(args.seconds);
const USERS = Number(args.users);
const WARMUP = Number(args.warmup);
const STEPS = Number(args.steps);
const SEED = Number(args.seed);

const home = await mkdtemp(join(tmpdir(), 'oppu-pg-load-'));
const running = await startPlayground({
  host: '127.0.0.1',
  port: 0,
  home,
  tasks: ['LaMP_2M'],
  steps: STEPS,
  learningRate: 0.003,
  demo: false,
  demoUsers: 0,
  demoItems: 0,
  logger: false,
});
const base = running.url;

// Synthetic LaMP-2M users: each simulated user adds its own history and asks its own questions.
const people = lamp2mPeople(USERS, SEED, (i) => `load${i}`);

const latencies = new Map<string, number[]>();
const errors: string[] = [];
const counts = { requests: 0, busy: 0, trainings: 0, asks: 0, adds: 0 };

async function call(route: string, method: string, path: string, body?: unknown): Promise<Response> {
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  } catch (error) {
    errors.push(`${route}: ${String(error)}`);
    throw error;
  }
  const ms = performance.now() - started;
  counts.requests++;
  const list = latencies.get(route) ?? [];
  list.push(ms);
  latencies.set(route, list);
  return res;
}

async function expectOk(res: Response, route: string): Promise<unknown> {
  const text = await res.text();
  if (res.status >= 300) {
    errors.push(`${route}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return undefined;
  }
  return text ? JSON.parse(text) : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let stopAt = 0;

async function user(i: number): Promise<void> {
  const p = people[i]!;
  const rand = mulberry32(SEED * 1000 + i);
  await expectOk(await call('POST /api/users', 'POST', '/api/users', { id: p.id }), 'POST /api/users');
  await expectOk(
    await call('POST /items', 'POST', `/api/users/${p.id}/items`, { items: p.items.slice(0, 8) }),
    'POST /items',
  );
  let next = 8;
  let n = 0;
  while (Date.now() < stopAt) {
    await sleep(100 + rand() * 400);
    const r = rand();
    if (r < 0.35) {
      // Add 1-3 items (cycling through the user's own history, with fresh ids).
      const items = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => {
        const it = p.items[next++ % p.items.length]!;
        return { ...it, id: `${it.id}-${n++}` };
      });
      await expectOk(await call('POST /items', 'POST', `/api/users/${p.id}/items`, { items }), 'POST /items');
      counts.adds++;
    } else if (r < 0.85) {
      const question = p.questions[Math.floor(rand() * p.questions.length)]!;
      await expectOk(
        await call('POST /ask', 'POST', `/api/users/${p.id}/ask`, { question, methods: ['rag', 'oppu'] }),
        'POST /ask',
      );
      counts.asks++;
    } else {
      const res = await call('POST /training', 'POST', `/api/users/${p.id}/training`, {});
      if (res.status === 409) {
        await res.text(); // already training: the designed answer, not an error
        counts.busy++;
        continue;
      }
      await expectOk(res, 'POST /training');
      const queued = performance.now();
      for (;;) {
        await sleep(250);
        const job = (await expectOk(
          await call('GET /training', 'GET', `/api/users/${p.id}/training`),
          'GET /training',
        )) as { job?: { state: string; error?: { message: string } } } | undefined;
        const state = job?.job?.state;
        if (state === 'done') break;
        if (state === 'failed' || state === 'cancelled' || state === undefined) {
          errors.push(`training of ${p.id}: ${state} ${job?.job?.error?.message ?? ''}`);
          break;
        }
      }
      const list = latencies.get('training job (queued to done)') ?? [];
      list.push(performance.now() - queued);
      latencies.set('training job (queued to done)', list);
      counts.trainings++;
    }
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
function memory(): { rssMiB: number; heapMiB: number } {
  gc?.();
  const m = process.memoryUsage();
  return { rssMiB: m.rss / 2 ** 20, heapMiB: m.heapUsed / 2 ** 20 };
}

const started = Date.now();
stopAt = started + SECONDS * 1000;
// How much CPU this process got (the machine may be shared) and how long the event loop was blocked.
const cpuStart = process.cpuUsage();
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();
const rssSamples: { t: number; rss: number }[] = [];
const sampler = setInterval(() => {
  rssSamples.push({ t: (Date.now() - started) / 1000, rss: process.memoryUsage().rss / 2 ** 20 });
}, 1000);
let warm: { rssMiB: number; heapMiB: number } | undefined;
const warmTimer = setTimeout(
  () => {
    warm = memory();
  },
  SECONDS * WARMUP * 1000,
);

await Promise.all(people.map((_, i) => user(i)));
clearInterval(sampler);
clearTimeout(warmTimer);
loopDelay.disable();
const wallSeconds = (Date.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
// Every training has finished (each user waits for its own job), so the queue is idle here.
const end = memory();
await running.close();
await rm(home, { recursive: true, force: true });

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const routes = [...latencies].map(([route, list]) => {
  const sorted = [...list].sort((a, b) => a - b);
  return { route, n: sorted.length, p50: pct(sorted, 50), p99: pct(sorted, 99) };
});
const f = (x: number) => x.toFixed(0).padStart(8);
console.log(
  `playground load: ${USERS} users, ${SECONDS} s (warm-up ${(SECONDS * WARMUP).toFixed(0)} s), ` +
    `${STEPS} training steps per job, embedded model, loopback`,
);
console.log(`${'route'.padEnd(32)}${'requests'.padStart(9)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}`);
for (const r of routes) console.log(`${r.route.padEnd(32)}${String(r.n).padStart(9)}${f(r.p50)}${f(r.p99)}`);
const w = warm ?? end;
console.log(
  `requests ${counts.requests}, asks ${counts.asks}, item adds ${counts.adds}, trainings ${counts.trainings}, ` +
    `training already running (409, by design) ${counts.busy}; errors ${errors.length}`,
);
console.log(
  `memory after warm-up: RSS ${w.rssMiB.toFixed(0)} MiB, heap ${w.heapMiB.toFixed(1)} MiB; at the end: ` +
    `RSS ${end.rssMiB.toFixed(0)} MiB, heap ${end.heapMiB.toFixed(1)} MiB ` +
    `(heap ${end.heapMiB >= w.heapMiB ? '+' : ''}${(end.heapMiB - w.heapMiB).toFixed(1)} MiB${gc ? ', after a full GC' : ', no --expose-gc'})`,
);
// RSS over the run: it climbs while the model's buffers grow to their working size, then should stay flat.
const rssAt = (fraction: number) =>
  rssSamples.filter((x) => x.t <= SECONDS * fraction).at(-1)?.rss ?? Number.NaN;
console.log(
  `RSS at 25/50/75/100% of the ${SECONDS} s: ${[0.25, 0.5, 0.75, 1].map((q) => rssAt(q).toFixed(0)).join(' / ')} MiB; ` +
    `peak ${Math.max(...rssSamples.map((x) => x.rss)).toFixed(0)} MiB`,
);
console.log(
  `this process used ${cpuSeconds.toFixed(0)} s of CPU in ${wallSeconds.toFixed(0)} s (${(cpuSeconds / wallSeconds).toFixed(2)} cores); ` +
    `event loop blocked p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, ` +
    `max ${(loopDelay.max / 1e6).toFixed(0)} ms`,
);
for (const e of errors.slice(0, 10)) console.log(`error: ${e}`);
console.log(
  `RESULT ${JSON.stringify({ users: USERS, seconds: SECONDS, wallSeconds, cpuSeconds, errors: errors.length, counts, routes, warm: w, end, gc: gc !== undefined, rss: rssSamples })}`,
);
