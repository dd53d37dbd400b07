import { mkdtemp, rm } from 'node:fs/promises';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPPU_LORA, type TrainingExample } from '@oppu/core';
import { nativeKernels } from '@oppu/trainer/kernels';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPooledEngine } from '../create-local-oppu.js';
import { writeTestCheckpoint } from '../test-checkpoint.js';
import type { WorkerState } from './engine-pool.js';
import { PooledEngine } from './pooled-engine.js';

const examples: TrainingExample[] = [
  { prompt: 'the cat sat on the', answer: 'mat' },
  { prompt: 'a dog ran to the', answer: 'park' },
];
const training = { maxSteps: 100_000, learningRate: 1e-2, batchSize: 2, seed: 1 };

let root: string;
let pooled: PooledEngine;
/** The same, with trainings waiting for the answers as long as they run. */
let waiting: PooledEngine;
let mainPriority: number;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-cpu-share-'));
  const dir = join(root, 'model');
  await writeTestCheckpoint(dir);
  mainPriority = getPriority(0);
  // Four cores to share out, whatever this machine has: the counts below are the pool's policy. Trainings do not
  // wait for answers here (trainPauseMs 0), so their thread count is what is seen.
  [pooled, waiting] = await Promise.all([
    PooledEngine.open({ dir, trainWorkers: 1, serveWorkers: 1, cores: 4, trainPauseMs: 0 }),
    PooledEngine.open({ dir, trainWorkers: 1, serveWorkers: 1, trainPauseMs: 600_000 }),
  ]);
}, 120_000);
afterAll(async () => {
  pooled?.dispose();
  waiting?.dispose();
  await rm(root, { recursive: true, force: true });
});

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const worker = (lane: 'train' | 'serve'): WorkerState => pooled.pool.workers().find((w) => w.lane === lane)!;

describe('EnginePool: the cores go to the answers first', () => {
  it.runIf(nativeKernels() !== null)(
    'a training keeps one kernel thread while an answer runs, and gets the cores back after',
    async () => {
      const stop = new AbortController();
      const train = pooled.trainAdapter(examples, { peft: OPPU_LORA, training, signal: stop.signal });
      try {
        await until(() => worker('train').job === 'train' && worker('train').threads === 4, 'training on 4');
        // A long answer, so that the training takes its next steps while it runs.
        let answered = false;
        const answer = pooled.model
          .generate([{ prompt: 'the cat' }], { maxNewTokens: 200, temperature: 0 })
          .finally(() => {
            answered = true;
          });
        await until(() => worker('train').threads === 1 || answered, 'training down to 1 thread');
        expect(worker('train').threads).toBe(1);
        expect(worker('serve')).toMatchObject({ job: 'generate', threads: 4 });
        await answer;
        await until(() => worker('train').threads === 4, 'training back on 4');
        expect(worker('train').job).toBe('train');
      } finally {
        stop.abort();
      }
      expect((await train).cancelled).toBe(true);
    },
    120_000,
  );

  it('a training waits between two steps while an answer runs, and goes on after it', async () => {
    const stop = new AbortController();
    let steps = 0;
    const train = waiting.trainAdapter(examples, {
      peft: OPPU_LORA,
      training,
      signal: stop.signal,
      onProgress: () => steps++,
    });
    try {
      await until(() => steps >= 2, 'the training stepping');
      const before = steps;
      const [answer] = await waiting.model.generate([{ prompt: 'the cat' }], {
        maxNewTokens: 1000,
        temperature: 0,
      });
      expect(answer!.tokens).toBeGreaterThan(0);
      // The step running when the answer came may end, and the report of the one before it may still have been
      // on its way from the worker when `before` was read; no other step starts until the answer is done (an
      // unpaused training steps many times over a 1,000-token answer).
      expect(steps).toBeLessThanOrEqual(before + 2);
      await until(() => steps > before + 1, 'the training stepping again');
    } finally {
      stop.abort();
    }
    expect((await train).cancelled).toBe(true);
  }, 120_000);

  it.runIf(process.platform === 'linux')(
    "training workers run at a lower priority than the server's thread, which keeps its own",
    () => {
      expect(getPriority(0)).toBe(mainPriority);
      expect(worker('serve').priority).toBe(mainPriority);
      expect(worker('train').priority).toBe(Math.min(19, mainPriority + 10));
    },
  );

  it('createPooledEngine passes trainPauseMs and trainNice on to the pool', async () => {
    const engine = await createPooledEngine({
      baseModelDir: join(root, 'model'),
      trainPauseMs: 0,
      trainNice: 0,
      onLog: () => {},
    });
    try {
      expect(engine.pool).toMatchObject({ trainPauseMs: 0, trainNice: 0 });
      const train = engine.pool.workers().find((w) => w.lane === 'train')!;
      if (process.platform === 'linux') expect(train.priority).toBe(mainPriority);
    } finally {
      engine.dispose();
    }
  }, 120_000);

  it('refuses a nice value outside 0 to 19, naming the option', async () => {
    await expect(PooledEngine.open({ dir: join(root, 'model'), trainNice: 25 })).rejects.toThrow(
      /^trainNice must be a whole number from 0 to 19 \(got 25\)$/,
    );
  });
});
