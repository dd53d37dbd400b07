import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userId } from '@oppu/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalOppu, type LocalOppu } from '../create-local-oppu.js';
import { writeTestCheckpoint } from '../test-checkpoint.js';

let root: string;
let oppu: LocalOppu;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-parallel-'));
  await writeTestCheckpoint(join(root, 'model'));
  oppu = await createLocalOppu({
    home: join(root, 'home'),
    baseModelDir: join(root, 'model'),
    workers: 2,
    training: { maxSteps: 1_000_000, learningRate: 3e-2, batchSize: 2, seed: 1 },
    summarizer: 'none',
    onLog: () => {},
  });
  for (const name of ['ann', 'bo']) {
    await oppu.service.addItems(userId(name), [
      { id: '1', text: `${name} wrote about the rain` },
      { id: '2', text: `${name} likes coffee` },
    ]);
  }
}, 120_000);
afterAll(async () => {
  await oppu?.close();
  await rm(root, { recursive: true, force: true });
});

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
};

describe('createLocalOppu({ workers: 2 })', () => {
  it("trains two users at once, each on a worker, while one user's second job waits for their first", async () => {
    const stop = new AbortController();
    const steps = { ann: 0, bo: 0, ann2: 0 };
    const job = (name: 'ann' | 'bo', key: keyof typeof steps) =>
      oppu.service
        .train(userId(name), { signal: stop.signal, onProgress: (e) => (steps[key] = e.done) })
        .catch((e: { code?: string }) => e.code);
    const ann = job('ann', 'ann');
    const ann2 = job('ann', 'ann2'); // the same user: serialized behind the first
    const bo = job('bo', 'bo');
    await until(() => steps.ann > 0 && steps.bo > 0); // both users' trainings are running at the same time
    expect(oppu.service.pendingJobs(userId('ann'))).toBe(2);
    expect(steps.ann2).toBe(0);
    stop.abort();
    expect(await Promise.all([ann, ann2, bo])).toEqual(['aborted', 'aborted', 'aborted']);
    expect(steps.ann2).toBe(0);
    expect(await oppu.service.versions(userId('ann'))).toEqual([]);
  }, 120_000);
});
