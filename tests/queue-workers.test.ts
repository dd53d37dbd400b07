/**
 * User story: "the community outgrew one process: training runs on a pool of workers, and a worker dying never
 * costs a job or leaves a broken adapter". Redis (a throw-away redis-server on loopback) and three worker processes
 * (bench/queue-workers/worker.ts, the script a deployment runs) share one OPPU home; four users ask for two
 * trainings each, one request is sent twice. One worker is SIGKILLed by the test in the middle of training; another
 * kills itself right after storing an adapter, before the job is marked complete. Every job must complete once in
 * effect: one new version per job (tagged with its job id), all versions loadable with their checksums, and never
 * two trainings of one user at the same time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type UserId, userId } from '@oppu/core';
import { createLocalOppu, type LocalOppu, writeTestCheckpoint } from '@oppu/node';
import {
  findRedisServer,
  type LocalRedis,
  startLocalRedis,
  type TrainingJobResult,
  TrainingQueue,
  type TrainingWorkerEvent,
} from '@oppu/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const WORKER = join(ROOT, 'bench/queue-workers/worker.ts');
const hasRedis = findRedisServer() !== undefined;
if (!hasRedis) {
  console.warn(
    'tests/queue-workers: SKIPPED: redis-server is not installed (apt-get install -y redis-server; .ci/run installs it)',
  );
}

interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  exitedAt?: number;
  signal?: NodeJS.Signals | null;
  stderr: string;
}

let root: string;
let redis: LocalRedis | undefined;
let oppu: LocalOppu | undefined;
let queue: TrainingQueue | undefined;
const children: Child[] = [];

function startWorker(name: string, extra: string[]): Promise<Child> {
  const child: Child = {
    name,
    stderr: '',
    process: spawn(
      process.execPath,
      [
        '--conditions',
        'source',
        '--import',
        'tsx',
        WORKER,
        '--port',
        String(redis!.port),
        '--home',
        join(root, 'home'),
        '--model',
        join(root, 'model'),
        '--max-steps',
        '40',
        '--lock-ms',
        '4000',
        '--events',
        join(root, 'events.jsonl'),
        ...extra,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  };
  children.push(child);
  child.process.stderr!.on('data', (d) => (child.stderr += d));
  child.process.on('exit', (_code, signal) => {
    child.exitedAt = Date.now();
    child.signal = signal;
  });
  return new Promise((resolve, reject) => {
    child.process.stdout!.on('data', (d: Buffer) => {
      if (String(d).includes('ready')) resolve(child);
    });
    child.process.once('exit', (code) =>
      reject(
        new Error(`worker ${name} exited with ${code} before it was ready:\n${child.stderr.slice(-2000)}`),
      ),
    );
  });
}

beforeAll(async () => {
  if (!hasRedis) return;
  root = await mkdtemp(join(tmpdir(), 'oppu-queue-'));
  await writeTestCheckpoint(join(root, 'model'));
  redis = await startLocalRedis();
  // The bot's side: it records history in the shared home and enqueues training.
  oppu = await createLocalOppu({
    home: join(root, 'home'),
    baseModelDir: join(root, 'model'),
    summarizer: 'none',
    onLog: () => {},
  });
  queue = new TrainingQueue({
    connection: { host: redis.host, port: redis.port },
    attempts: 3,
    backoffMs: 200,
  });
  await queue.listen();
}, 60_000);

afterAll(async () => {
  if (process.env.OPPU_QUEUE_DEBUG && root) {
    console.log(await readFile(join(root, 'events.jsonl'), 'utf8').catch(() => 'no events'));
    for (const c of children) console.log(c.name, c.process.pid, c.signal, c.stderr.slice(0, 1500));
  }
  for (const c of children) if (c.exitedAt === undefined) c.process.kill('SIGKILL');
  await queue?.close();
  await oppu?.close();
  await redis?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const words = ['sunset', 'coffee', 'rain', 'train', 'music', 'garden', 'river', 'snow', 'city', 'tea'];
const users: UserId[] = ['ana', 'ben', 'cy', 'dee'].map((u) => userId(u));

describe.skipIf(!hasRedis)('training on a pool of queue workers', () => {
  it('completes every job once, with intact adapters, when workers die mid-job', async () => {
    const o = oppu!;
    const q = queue!;
    for (const [i, u] of users.entries()) {
      await o.service.addItems(
        u,
        Array.from({ length: 6 }, (_, j) => ({
          id: `${u}-${j}`,
          text: `${words[(i + j) % words.length]} again today ${words[(i * 3 + j) % words.length]} with ${u}`,
        })),
      );
    }
    const completions = new Map<string, number>();
    q.events.on('completed', ({ jobId }) => completions.set(jobId, (completions.get(jobId) ?? 0) + 1));
    const progressByWorker = new Map<string, number>();
    q.onProgress((p) => progressByWorker.set(p.worker, (progressByWorker.get(p.worker) ?? 0) + 1));

    const [victim, suicidal, steady] = await Promise.all([
      startWorker('victim', []),
      startWorker('dies-after-store', ['--die-after-store']),
      startWorker('steady', []),
    ]);

    // Two requests per user, back to back (the second waits for the first: one job per user at a time).
    const jobs: { job: string; user: UserId }[] = [];
    for (const round of [1, 2]) {
      for (const u of users) {
        const e = await q.enqueueTraining(u, { request: `history-rev-${round}` });
        expect(e.added).toBe(true);
        jobs.push(e);
      }
    }
    const again = await q.enqueueTraining(users[0]!, { request: 'history-rev-1' });
    expect(again).toEqual({ job: jobs[0]!.job, user: users[0], added: false });

    // SIGKILL the victim as soon as it reports a training step (it is then in the middle of a job).
    const victimId = `:${victim.process.pid}`;
    let killedAt = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the victim worker never started training')), 60_000);
      const off = q.onProgress((p) => {
        if (p.worker.endsWith(victimId) && !killedAt) {
          killedAt = Date.now();
          victim.process.kill('SIGKILL');
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    });

    const results: TrainingJobResult[] = [];
    for (const { job } of jobs) results.push(await q.result(job, 80_000));
    expect(suicidal.signal).toBe('SIGKILL'); // it did store a version and die before completing its job
    expect(steady.exitedAt).toBeUndefined();

    // Every job completed exactly once, for its own user.
    for (const [i, { job, user }] of jobs.entries()) {
      expect(await q.state(job)).toBe('completed');
      expect(completions.get(job)).toBe(1);
      expect(results[i]!.user).toBe(user);
    }
    expect(results.filter((r) => r.reused)).toHaveLength(1); // the job whose worker died after storing

    // One intact version per job, tagged with that job; the result names it; checksums hold on disk.
    for (const u of users) {
      const versions = await o.adapters.list(u);
      const mine = jobs.filter((j) => j.user === u).map((j) => j.job);
      expect(versions.map((m) => m.training?.job).sort()).toEqual([...mine].sort());
      for (const meta of versions) {
        const stored = await o.adapters.get(u, meta.version); // verifies sha256
        expect(stored?.weights.tensors.size).toBeGreaterThan(0);
        const file = join(root, 'home/adapters', u, `v${String(meta.version).padStart(4, '0')}`);
        const bytes = await readFile(join(file, 'adapter_model.safetensors'));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(meta.sha256);
        const result = results[jobs.findIndex((j) => j.job === meta.training?.job)]!;
        expect(result.version).toBe(meta.version);
      }
      expect((await readdir(join(root, 'home/adapters', u))).filter((n) => n.startsWith('.'))).toEqual([]);
      // The user's newest adapter answers (the service loads it and generates with it).
      const answer = await o.service.ask(
        u,
        'Paraphrase the following tweet without any explanation before or after it: nice day',
      );
      expect(answer.adapterVersion).toBe(versions[versions.length - 1]!.version);
    }

    // Never two trainings of one user at once: intervals from `start` to `stored`/`failed` (or the worker's death).
    const events = (await readFile(join(root, 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TrainingWorkerEvent);
    const deathOf = (worker: string) => {
      const c = children.find((ch) => worker.endsWith(`:${ch.process.pid}`));
      return c?.exitedAt ?? Number.POSITIVE_INFINITY;
    };
    for (const u of users) {
      const spans: [number, number, string][] = [];
      for (const s of events.filter((e) => e.user === u && e.type === 'start')) {
        const end = events.find(
          (e) =>
            e.job === s.job &&
            e.worker === s.worker &&
            (e.type === 'stored' || e.type === 'failed') &&
            e.at >= s.at,
        );
        spans.push([s.at, end?.at ?? deathOf(s.worker), `${s.job}@${s.worker}`]);
      }
      spans.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i++) {
        expect(
          spans[i]![0],
          `${spans[i]![2]} started before ${spans[i - 1]![2]} ended`,
        ).toBeGreaterThanOrEqual(spans[i - 1]![1]);
      }
    }
    // The victim was killed in the middle of a job (started, never finished there), which then finished once
    // elsewhere, after the kill.
    const finishedOn = (job: string, worker: string) =>
      events.some(
        (e) => e.job === job && e.worker === worker && (e.type === 'stored' || e.type === 'failed'),
      );
    const cut = events.filter(
      (e) => e.type === 'start' && e.worker.endsWith(victimId) && !finishedOn(e.job, e.worker),
    );
    expect(cut).toHaveLength(1);
    const retried = events.filter(
      (e) => e.job === cut[0]!.job && (e.type === 'stored' || e.type === 'reused'),
    );
    expect(retried).toHaveLength(1);
    expect(retried[0]!.at).toBeGreaterThan(killedAt);
    expect(results[jobs.findIndex((j) => j.job === cut[0]!.job)]!.worker.endsWith(victimId)).toBe(false);
    expect(progressByWorker.size).toBeGreaterThanOrEqual(2); // progress reached the producer from several workers
  }, 150_000);
});
