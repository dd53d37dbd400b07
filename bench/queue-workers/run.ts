/**
 * Training throughput of the BullMQ queue with 1, 2 and 3 local worker processes: each round starts a throw-away
 * Redis and a fresh OPPU home, records synthetic LaMP-7 histories for `--users` users, starts the workers (embedded
 * tiny base model, OPPU's LoRA r 8 on q/v and OPPU's training recipe), enqueues one training job per user and waits
 * for every result. Prints per-user training time, wall time, users per hour, and the size of a stored adapter.
 *
 *   pnpm bench:queue-workers [--users 12] [--items 16] [--workers 1,2,3]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { synthesize, userId } from '@oppu/core';
import { createLocalOppu } from '@oppu/node';
import { startLocalRedis, TrainingQueue } from '@oppu/queue';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '12' },
    items: { type: 'string', default: '16' },
    workers: { type: 'string', default: '1,2,3' },
  },
});
const userCount = Number(values.users);
const rounds = values.workers.split(',').map(Number);
const data = synthesize({
  task: 'LaMP_7',
  users: userCount,
  items: Number(values.items),
  queries: 1,
  seed: 11,
});
const WORKER = join(import.meta.dirname, 'worker.ts');

console.log(
  `machine: ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at start`,
);
console.log(
  `${userCount} users x ${values.items} LaMP-7 items, one training job each; embedded base model, OPPU LoRA r 8 q/v, OPPU_TRAINING`,
);

function startWorker(port: number, home: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--conditions', 'source', '--import', 'tsx', WORKER, '--port', String(port), '--home', home],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (String(d).includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
  });
}

let adapterBytes = 0;
let configBytes = 0;
for (const n of rounds) {
  const root = await mkdtemp(join(tmpdir(), 'oppu-bench-queue-'));
  const home = join(root, 'home');
  const redis = await startLocalRedis();
  const producer = await createLocalOppu({ home, summarizer: 'none', onLog: () => {} });
  const users = data.questions.map((q) =>
    userId(`user-${q.user_id ?? q.id}`.replace(/[^A-Za-z0-9_-]/g, '-')),
  );
  for (const [i, q] of data.questions.entries()) await producer.service.addItems(users[i]!, q.profile);

  let t = performance.now();
  const workers = await Promise.all(Array.from({ length: n }, () => startWorker(redis.port, home)));
  const startup = (performance.now() - t) / 1000;
  const queue = new TrainingQueue({ connection: { host: redis.host, port: redis.port } });
  await queue.listen();
  t = performance.now();
  const jobs = [];
  for (const u of users) jobs.push((await queue.enqueueTraining(u, { request: `bench-${n}` })).job);
  const results = await Promise.all(jobs.map((j) => queue.result(j, 30 * 60_000)));
  const wall = (performance.now() - t) / 1000;
  const perUser = results.map((r) => r.seconds).sort((a, b) => a - b);
  const mean = perUser.reduce((a, b) => a + b, 0) / perUser.length;
  const byWorker = new Map<string, number>();
  for (const r of results) byWorker.set(r.worker, (byWorker.get(r.worker) ?? 0) + 1);
  console.log(
    `${n} worker${n > 1 ? 's' : ' '}: ${userCount} users in ${wall.toFixed(1)} s = ${((userCount / wall) * 3600).toFixed(0)} users/hour; ` +
      `per job ${mean.toFixed(2)} s mean, ${perUser[Math.floor(perUser.length / 2)]!.toFixed(2)} s median; ` +
      `jobs per worker ${[...byWorker.values()].join('/')}; worker start-up ${startup.toFixed(1)} s (not counted)`,
  );
  if (!adapterBytes) {
    const dir = join(home, 'adapters', users[0]!, 'v0001');
    adapterBytes = (await stat(join(dir, 'adapter_model.safetensors'))).size;
    configBytes = (await stat(join(dir, 'adapter_config.json'))).size;
  }
  for (const w of workers) {
    const exited = new Promise((done) => w.once('exit', done));
    w.kill('SIGTERM');
    await exited;
  }
  await queue.close();
  await producer.close();
  await redis.stop();
  await rm(root, { recursive: true, force: true });
}
console.log(
  `stored adapter: adapter_model.safetensors ${adapterBytes} bytes, adapter_config.json ${configBytes} bytes`,
);
