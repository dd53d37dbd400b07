/**
 * User story: "the server answers me while other people train" (issue 19). `createLocalOppu` runs model work in
 * worker threads by default: a training in progress leaves the main thread free, another user's personalized
 * answer comes from the serving worker meanwhile, a cancelled training keeps the previous adapter, and a version
 * that another service (a training worker over the same home) stores is the one served next.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAMP_TASKS, userId } from '@oppu/core';
import {
  createLocalOppu,
  createPooledEngine,
  type LocalOppu,
  type PooledEngine,
  writeTestCheckpoint,
} from '@oppu/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const task = LAMP_TASKS.LaMP_7;
const items = (prefix: string, words: string) =>
  words.split(',').map((text, i) => ({ id: `${prefix}${i}`, text: text.trim() }));
const input = task.formatInput({ text: 'the dog sat on the mat' });

let root: string;
let engine: PooledEngine;
/** Answers questions; trains with a small budget. */
let server: LocalOppu;
/** Another service over the same home (as a training worker would be), training without end until cancelled. */
let longTrainer: LocalOppu;
/** A third one over the same home that stores versions the server has not seen. */
let writer: LocalOppu;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-serve-train-'));
  await writeTestCheckpoint(join(root, 'model'));
  engine = await createPooledEngine({ baseModelDir: join(root, 'model'), onLog: () => {} });
  const open = (maxSteps: number, seed: number) =>
    createLocalOppu({
      home: join(root, 'home'),
      engine,
      task: 'LaMP_7',
      training: { maxSteps, learningRate: 3e-2, batchSize: 2, seed },
      summarizer: 'none',
    });
  server = await open(6, 1);
  longTrainer = await open(1_000_000, 2);
  writer = await open(6, 3);
}, 120_000);
afterAll(async () => {
  await server?.close();
  await longTrainer?.close();
  await writer?.close();
  engine?.dispose();
  await rm(root, { recursive: true, force: true });
});

describe('serving while training', () => {
  it("answers one user with their adapter while another user's training runs, and the event loop keeps turning", async () => {
    const bob = userId('bob');
    const alice = userId('alice');
    await server.service.addItems(bob, items('b', 'the dog ran, a dog sat here, dogs run'));
    const bobV1 = await server.service.train(bob);
    await longTrainer.service.addItems(alice, items('a', 'the cat sat, a cat on a mat, cats nap'));

    const stop = new AbortController();
    let steps = 0;
    let trainingEnded = false;
    const training = longTrainer.service
      .train(alice, { signal: stop.signal, onProgress: (e) => (steps = e.done) })
      .finally(() => {
        trainingEnded = true;
      });
    while (steps === 0) await new Promise((r) => setTimeout(r, 10)); // training in the worker

    let turns = 0;
    const ticker = setInterval(() => turns++, 1);
    const answer = await server.service.ask(bob, input, { method: 'oppu+rag' });
    const stepsAtAnswer = steps;
    await new Promise((r) => setTimeout(r, 100));
    clearInterval(ticker);

    expect(answer.adapterVersion).toBe(bobV1.version);
    expect(trainingEnded).toBe(false); // bob was answered while alice's training ran
    expect(turns).toBeGreaterThan(3); // timers fired meanwhile: nothing held the main thread
    expect(steps).toBeGreaterThanOrEqual(stepsAtAnswer); // and the training went on

    stop.abort();
    await expect(training).rejects.toMatchObject({ code: 'aborted' });
    expect(await server.service.versions(alice)).toEqual([]); // a cancelled job stores nothing
  }, 120_000);

  it('serves the version another service stored at once, even under a version number used before', async () => {
    const carol = userId('carol');
    await writer.service.addItems(carol, items('c', 'the cat sat, a cat on a mat'));
    const first = await writer.service.train(carol);
    const seen = await server.service.prepare(carol, input);
    expect(seen.adapter?.meta.sha256).toBe(first.sha256); // now in the server's adapter cache

    // The writer starts carol over: her versions are removed and a new one is trained on other items.
    await writer.service.forget(carol);
    await writer.service.addItems(carol, items('d', 'hello world the dog ran, a dog ran here stop'));
    const second = await writer.service.train(carol);
    expect(second.version).toBe(first.version);
    expect(second.sha256).not.toBe(first.sha256);

    const now = await server.service.prepare(carol, input);
    expect(now.adapter?.meta.sha256).toBe(second.sha256);
    const answer = await server.service.ask(carol, input, { method: 'oppu+rag' });
    expect(answer.adapterVersion).toBe(second.version);
  }, 120_000);
});
