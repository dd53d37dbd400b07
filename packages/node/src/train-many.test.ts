import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPPU_LORA, userId } from '@oppu/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, createLocalOppu } from './create-local-oppu.js';
import { writeTestCheckpoint } from './test-checkpoint.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-many-'));
  await writeTestCheckpoint(join(root, 'model'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const histories = {
  ann: [
    { id: 'a1', text: 'the cat sat on the mat' },
    { id: 'a2', text: 'a cat sat here' },
    { id: 'a3', text: 'the mat' },
  ],
  bo: [
    { id: 'b1', text: 'hello world' },
    { id: 'b2', text: 'a dog ran here stop' },
  ],
};

describe('OppuService.trainMany', () => {
  it("trains several users in shared batches, each user's adapter as if trained alone", async () => {
    const engine = await createEngine({ baseModelDir: join(root, 'model'), onLog: () => {} });
    // OPPU's LoRA, dropout 0.05 included: each user's rows get the dropout masks that user gets alone.
    const options = {
      engine,
      training: { maxSteps: 4, learningRate: 1e-2, batchSize: 2, seed: 9 },
      peft: OPPU_LORA,
      summarizer: 'none' as const,
    };
    const together = await createLocalOppu({ ...options, home: join(root, 'together') });
    const alone = await createLocalOppu({ ...options, home: join(root, 'alone') });
    for (const [name, items] of Object.entries(histories)) {
      await together.service.addItems(userId(name), items);
      await alone.service.addItems(userId(name), items);
    }
    const metas = await together.service.trainMany([userId('ann'), userId('bo')]);
    expect(metas.map((m) => [m.userId, m.version])).toEqual([
      ['ann', 1],
      ['bo', 1],
    ]);
    for (const name of Object.keys(histories)) {
      await alone.service.train(userId(name));
      const a = (await together.adapters.get(userId(name)))!.weights.tensors;
      const b = (await alone.adapters.get(userId(name)))!.weights.tensors;
      expect([...a.keys()]).toEqual([...b.keys()]);
      let maxDiff = 0;
      for (const [k, t] of a) {
        const u = t.data as Float32Array;
        const v = b.get(k)!.data as Float32Array;
        for (let i = 0; i < u.length; i++) maxDiff = Math.max(maxDiff, Math.abs(u[i]! - v[i]!));
      }
      expect(maxDiff).toBeLessThan(1e-4);
    }
    // The lora_B weights moved from zero: training happened.
    const bo = (await together.adapters.get(userId('bo')))!.weights.tensors;
    const moved = [...bo]
      .filter(([k]) => k.includes('lora_B'))
      .some(([, t]) => (t.data as Float32Array).some((x) => x !== 0));
    expect(moved).toBe(true);
    // A second round continues from each user's adapter.
    const next = await together.service.trainMany([userId('ann'), userId('bo')]);
    expect(next.map((m) => m.parent)).toEqual([1, 1]);
    await together.close();
    await alone.close();
    engine.dispose();
  });
});
