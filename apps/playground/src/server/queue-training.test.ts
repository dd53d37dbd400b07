import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, createLocalOppu, type LocalOppu } from '@oppu/node';
import {
  findRedisServer,
  type LocalRedis,
  type LocalTrainingWorker,
  startLocalRedis,
  startLocalTrainingWorker,
} from '@oppu/queue';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskExtras } from '../start-playground.js';
import { synthHistories, testBaseModelDir } from '../testing.js';
import { createServer } from './create-server.js';
import { Playground } from './playground.js';
import { playgroundQueueName, redisConnection } from './queued-training.js';

/**
 * The playground with `redisUrl`: POST /training becomes an `@oppu/queue` job, a worker (here in this process,
 * over its own service on the same OPPU home) trains it, and the page's event stream shows its progress and
 * completion; the server's next answer uses the version the worker stored.
 */
const redisBin = findRedisServer();
if (!redisBin) {
  console.warn(
    'queue-training.test.ts: skipped, redis-server is not on PATH (apt-get install -y redis-server, or set REDIS_SERVER)',
  );
}

describe.skipIf(!redisBin)('training through @oppu/queue', () => {
  let root: string;
  let redis: LocalRedis;
  let worker: LocalTrainingWorker;
  let local: LocalOppu;
  let engine: Awaited<ReturnType<typeof createEngine>>;
  let app: FastifyInstance;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'pg-queue-'));
    redis = await startLocalRedis();
    const baseModelDir = await testBaseModelDir(root);
    engine = await createEngine({ ...(baseModelDir ? { baseModelDir } : {}), onLog: () => {} });
    const home = join(root, 'LaMP_2M');
    const oppu = { home, task: 'LaMP_2M' as const, engine, training: { maxSteps: 3 } };
    // The worker trains only with the queue's jobs; the server's service never trains (it has maxSteps 1 so a
    // training that wrongly ran here would show as a 1-step job, not the worker's 3 steps).
    worker = await startLocalTrainingWorker({
      connection: { host: redis.host, port: redis.port },
      queueName: playgroundQueueName('LaMP_2M'),
      progressEveryMs: 0,
      id: 'test-worker',
      oppu,
    });
    local = await createLocalOppu({ ...oppu, training: { maxSteps: 1 } });
    const playground = await Playground.open({
      tasks: {
        LaMP_2M: {
          service: local.service,
          adapters: local.adapters,
          history: local.history,
          ...taskExtras(),
        },
      },
      dataDir: root,
    });
    app = await createServer(playground, { redisUrl: `redis://${redis.host}:${redis.port}` });
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await worker?.close();
    await local?.close();
    engine?.dispose();
    await redis?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('streams the worker job progress to the page, then answers with the new adapter version', async () => {
    const [history] = synthHistories(1);
    expect((await app.inject({ method: 'POST', url: '/api/users', payload: { id: 'ada' } })).statusCode).toBe(
      201,
    );
    expect(
      (await app.inject({ method: 'POST', url: '/api/users/ada/items', payload: { items: history!.items } }))
        .statusCode,
    ).toBe(200);
    const question = history!.questions[0]!.slice(history!.questions[0]!.indexOf('description: ') + 13);
    const ask = async () =>
      (
        await app.inject({
          method: 'POST',
          url: '/api/users/ada/ask',
          payload: { question, methods: ['oppu'] },
        })
      ).json().answers[0] as { adapterVersion?: number; method: string };
    expect((await ask()).adapterVersion).toBeUndefined();

    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const controller = new AbortController();
    const res = await fetch(`${url}/api/events`, { signal: controller.signal });
    const reader = res.body!.getReader();
    const started = await app.inject({ method: 'POST', url: '/api/users/ada/training', payload: {} });
    expect(started.statusCode).toBe(202);
    expect(started.json().job).toMatchObject({ user: 'ada', state: 'queued' });

    let text = '';
    const decoder = new TextDecoder();
    const finished = /"user":"ada"[^\n]*"state":"(done|failed|cancelled)"/;
    while (!finished.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    controller.abort();
    expect(text).toMatch(/"user":"ada"[^\n]*"state":"done"[^\n]*"version":1/);
    // The same event shape as in-process training: a progress event per step, up to the worker's 3 steps.
    const points = [...text.matchAll(/event: progress\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]!));
    expect(points.length).toBeGreaterThan(0);
    expect(points[0]).toMatchObject({ type: 'progress', user: 'ada', jobId: 1 });
    expect(points.at(-1)!.point).toMatchObject({ step: 3, total: 3 });
    expect(typeof points.at(-1)!.point.loss).toBe('number');
    expect(text).toMatch(/"state":"running"[^\n]*"worker":"test-worker"/);

    const job = (await app.inject({ method: 'GET', url: '/api/users/ada/training' })).json().job;
    expect(job).toMatchObject({ state: 'done', version: 1, worker: 'test-worker' });
    expect(job.points.length).toBeGreaterThan(0);
    const user = (await app.inject({ method: 'GET', url: '/api/users/ada' })).json().user;
    expect(user).toMatchObject({ versions: 1, latestVersion: 1 });
    // The server never trained; the version the worker stored in the shared home answers.
    expect(await ask()).toMatchObject({ method: 'oppu', adapterVersion: 1 });

    // A second training continues from it: version 2, again from the worker.
    await app.inject({ method: 'POST', url: '/api/users/ada/training', payload: {} });
    for (let i = 0; i < 200; i++) {
      const j = (await app.inject({ method: 'GET', url: '/api/users/ada/training' })).json().job;
      if (j.state !== 'queued' && j.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await app.inject({ method: 'GET', url: '/api/users/ada/training' })).json().job).toMatchObject({
      state: 'done',
      version: 2,
    });
    expect(await ask()).toMatchObject({ adapterVersion: 2 });
  }, 30_000);

  it('reads redis URLs and refuses what is not one', () => {
    expect(redisConnection('redis://127.0.0.1:6380/2')).toEqual({ host: '127.0.0.1', port: 6380, db: 2 });
    expect(redisConnection('rediss://u:p%40ss@cache.example:6379')).toEqual({
      host: 'cache.example',
      port: 6379,
      username: 'u',
      password: 'p@ss',
      tls: {},
    });
    expect(() => redisConnection('localhost:6379')).toThrow(/scheme must be redis:\/\//);
    expect(() => redisConnection('not a url')).toThrow(/is not a URL/);
  });
});
