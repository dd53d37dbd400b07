import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdapterTrainingResult, OPPU_LORA, type TrainingExample } from '@oppu/core';
import { TfPeftEngine } from '@oppu/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestCheckpoint } from '../test-checkpoint.js';
import { PooledEngine } from './pooled-engine.js';

const examples: TrainingExample[] = [
  { prompt: 'the cat sat on the', answer: 'mat' },
  { prompt: 'a dog ran to the', answer: 'park' },
  { prompt: 'the cat sat here and', answer: 'slept' },
];
const training = { maxSteps: 4, learningRate: 3e-2, batchSize: 2, seed: 1 };

let root: string;
let dir: string;
let pooled: PooledEngine;
let local: TfPeftEngine;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-pool-'));
  dir = join(root, 'model');
  await writeTestCheckpoint(dir);
  [pooled, local] = await Promise.all([
    PooledEngine.open({ dir, trainWorkers: 1, serveWorkers: 1, threads: 1 }),
    TfPeftEngine.load(dir, { onLog: () => {} }),
  ]);
}, 120_000);
afterAll(async () => {
  pooled?.dispose();
  local?.dispose();
  await rm(root, { recursive: true, force: true });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 20));
}

/** Largest absolute difference between two adapters' tensors of the same names. */
function maxDiff(a: AdapterTrainingResult, b: AdapterTrainingResult): number {
  let d = 0;
  for (const [name, t] of a.weights.tensors) {
    const u = b.weights.tensors.get(name)!.data as Float32Array;
    (t.data as Float32Array).forEach((v, i) => {
      d = Math.max(d, Math.abs(v - u[i]!));
    });
  }
  return d;
}

describe('PooledEngine (model work in worker threads)', () => {
  it('trains in a worker exactly as in process, with every progress step crossing back', async () => {
    const steps: number[] = [];
    const there = await pooled.trainAdapter(examples, {
      peft: OPPU_LORA,
      training,
      onProgress: (e) => steps.push(e.done),
    });
    const here = await local.trainAdapter(examples, { peft: OPPU_LORA, training });
    expect(pooled.model.info.hash).toBe(local.model.info.hash);
    expect(there.cancelled).toBe(false);
    expect(there.steps).toBe(4);
    expect(steps).toContain(4);
    expect([...there.weights.tensors.keys()].sort()).toEqual([...here.weights.tensors.keys()].sort());
    expect(maxDiff(there, here)).toBeLessThan(1e-5);
    expect(there.finalLoss).toBeCloseTo(here.finalLoss, 4);

    // Answers with that adapter are the in-process answers.
    const request = { prompt: 'the cat sat on the', adapter: there.weights };
    const [g1] = await pooled.model.generate([request], { maxNewTokens: 6 });
    const [g2] = await local.model.generate([{ ...request, adapter: here.weights }], { maxNewTokens: 6 });
    expect(g1!.text).toBe(g2!.text);
    const [s1] = await pooled.model.scoreCandidates([{ ...request, candidates: ['mat', 'park'] }]);
    const [s2] = await local.model.scoreCandidates([
      { ...request, adapter: here.weights, candidates: ['mat', 'park'] },
    ]);
    expect(s1!.logProbs[0]).toBeCloseTo(s2!.logProbs[0]!, 4);
    expect(pooled.model.tokenize('the cat')).toEqual(local.model.tokenize('the cat'));
    let streamed = '';
    for await (const piece of pooled.model.stream(request, { maxNewTokens: 6 })) streamed += piece;
    expect(streamed).toBe(g1!.text);
  });

  it('sends answers that queue up together as one batch, each caller getting what it would alone', async () => {
    const adapters = await Promise.all(
      [1, 2, 3].map((seed) =>
        local.trainAdapter(examples, { peft: OPPU_LORA, training: { ...training, maxSteps: 2, seed } }),
      ),
    );
    const requests = Array.from({ length: 8 }, (_, i) => ({
      prompt: ['the cat sat on the', 'a dog ran to the', 'the cat sat here and'][i % 3]!,
      candidates: ['mat', 'park', 'slept'],
      ...(i % 4 === 3 ? {} : { adapter: adapters[i % 3]!.weights }),
    }));
    const batchesBefore = pooled.pool.batches;
    // Eight callers at once: two workers take one each, the six others wait and go together.
    const together = await Promise.all(requests.map((r) => pooled.model.scoreCandidates([r])));
    expect(pooled.pool.batches).toBeGreaterThan(batchesBefore);
    for (const [i, r] of requests.entries()) {
      const [alone] = await local.model.scoreCandidates([r]);
      expect(together[i]).toHaveLength(1);
      for (const [c, lp] of together[i]![0]!.logProbs.entries())
        expect(lp).toBeCloseTo(alone!.logProbs[c]!, 4);
    }
    const generated = await Promise.all(
      requests.map((r) =>
        pooled.model.generate([{ prompt: r.prompt, ...(r.adapter ? { adapter: r.adapter } : {}) }], {
          maxNewTokens: 5,
        }),
      ),
    );
    for (const [i, r] of requests.entries()) {
      const [alone] = await local.model.generate(
        [{ prompt: r.prompt, ...(r.adapter ? { adapter: r.adapter } : {}) }],
        { maxNewTokens: 5 },
      );
      expect(generated[i]![0]!.text).toBe(alone!.text);
    }
  });

  it("sends an adapter's weights to a worker once, and again only after the worker was told to drop them", async () => {
    const { weights } = await local.trainAdapter(examples, { peft: OPPU_LORA, training });
    const ask = async (adapter: typeof weights) =>
      (await pooled.model.generate([{ prompt: 'the cat', adapter }], { maxNewTokens: 4 }))[0]!.text;
    const [expected] = await local.model.generate([{ prompt: 'the cat', adapter: weights }], {
      maxNewTokens: 4,
    });
    const sent = pooled.pool.adapterSends;
    expect(await ask(weights)).toBe(expected!.text);
    expect(await ask(weights)).toBe(expected!.text);
    expect(pooled.pool.adapterSends).toBe(sent + 1);
    // 64 other adapters pass through the serving worker: the first one is dropped there, so it is sent again.
    for (let i = 0; i < 64; i++) await ask(structuredClone(weights));
    expect(pooled.pool.adapterSends).toBe(sent + 65);
    expect(await ask(weights)).toBe(expected!.text);
    expect(pooled.pool.adapterSends).toBe(sent + 66);
  }, 120_000);

  it('keeps the main thread turning while a training runs in the worker', async () => {
    let turns = 0;
    let longest = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      turns++;
    }, 5);
    try {
      const result = await pooled.trainAdapter(examples, {
        peft: OPPU_LORA,
        training: { ...training, maxSteps: 40 },
      });
      expect(result.steps).toBe(40);
    } finally {
      clearInterval(timer);
    }
    // A training on this thread would run its steps back to back between timer ticks; in a worker, the timer
    // fires throughout (not a timing bound: at least a handful of turns happened while it trained).
    expect(turns).toBeGreaterThan(5);
  });

  it('answers on the serve worker while the train worker trains', async () => {
    const stop = new AbortController();
    let trainingDone = false;
    const train = pooled
      .trainAdapter(examples, {
        peft: OPPU_LORA,
        training: { ...training, maxSteps: 100_000 },
        signal: stop.signal,
      })
      .finally(() => {
        trainingDone = true;
      });
    const [answer] = await pooled.model.generate([{ prompt: 'the dog' }], { maxNewTokens: 4 });
    expect(answer!.tokens).toBeGreaterThan(0);
    expect(trainingDone).toBe(false);
    stop.abort();
    const result = await train;
    expect(result.cancelled).toBe(true);
    expect(result.steps).toBeLessThan(100_000);
  });

  it('a cancel reaches a training still queued behind another one', async () => {
    const first = new AbortController();
    const second = new AbortController();
    const running = pooled.trainAdapter(examples, {
      peft: OPPU_LORA,
      training: { ...training, maxSteps: 100_000 },
      signal: first.signal,
    });
    const queued = pooled.trainAdapter(examples, { peft: OPPU_LORA, training, signal: second.signal });
    second.abort();
    const q = await queued;
    expect(q.cancelled).toBe(true);
    first.abort();
    expect((await running).cancelled).toBe(true);
  });

  it('a worker that dies fails its job with one line and is replaced', async () => {
    const before = pooled.pool.started;
    const job = pooled.trainAdapter(examples, {
      peft: OPPU_LORA,
      training: { ...training, maxSteps: 100_000 },
    });
    await until(() => pooled.pool.queued === 0); // running in the worker
    pooled.pool.crashWorker('train');
    await expect(job).rejects.toMatchObject({
      code: 'worker_crashed',
      message: expect.stringMatching(
        /^engine worker 0 \(train\) stopped with exit code 7 while running train job/,
      ),
    });
    // The replacement loads the model and trains the next job.
    const next = await pooled.trainAdapter(examples, { peft: OPPU_LORA, training });
    expect(next.steps).toBe(4);
    expect(pooled.pool.started).toBe(before + 1);
  }, 60_000);

  it('a merged base is defined on every worker, including a replacement', async () => {
    const task = await pooled.trainAdapter(examples, { peft: OPPU_LORA, training });
    const merged = await pooled.mergeAdapter(task.weights);
    const localMerged = await local.mergeAdapter(task.weights);
    try {
      expect(merged.model.info.hash).toBe(localMerged.model.info.hash);
      const [a] = await merged.model.generate([{ prompt: 'the cat' }], { maxNewTokens: 5 });
      const [b] = await localMerged.model.generate([{ prompt: 'the cat' }], { maxNewTokens: 5 });
      expect(a!.text).toBe(b!.text);
      const started = pooled.pool.started;
      pooled.pool.crashWorker('serve');
      await until(() => pooled.pool.started > started && pooled.pool.readyWorkers === 2);
      const [c] = await merged.model.generate([{ prompt: 'the cat' }], { maxNewTokens: 5 });
      expect(c!.text).toBe(b!.text);
    } finally {
      merged.dispose();
      localMerged.dispose();
    }
  }, 60_000);
});
