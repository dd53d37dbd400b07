/**
 * User story: "my adapter keeps up as I write more, without forgetting what it learnt". The policy (see
 * OppuService): `train` continues from the latest adapter and rehearses the whole history, old and new items.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdapterWeights, userId } from '@oppu/core';
import { createLocalOppu, type LocalOppu, writeTestCheckpoint } from '@oppu/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let root: string;
let oppu: LocalOppu;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-incremental-'));
  await writeTestCheckpoint(join(root, 'model'));
  oppu = await createLocalOppu({
    home: join(root, 'home'),
    baseModelDir: join(root, 'model'),
    training: { maxSteps: 12, learningRate: 2e-2, batchSize: 2, seed: 3 },
    summarizer: 'none',
    onLog: () => {},
  });
});
afterAll(async () => {
  await oppu?.close();
  await rm(root, { recursive: true, force: true });
});

const early = [
  { id: 'e1', text: 'the cat sat on the mat', date: '2024-01-01' },
  { id: 'e2', text: 'the cat sat on a mat', date: '2024-01-02' },
];
const late = [
  { id: 'l1', text: 'hello world the dog ran', date: '2024-02-01' },
  { id: 'l2', text: 'a dog ran here stop', date: '2024-02-02' },
];

/** Mean log-probability of the early items' texts as answers to their training prompt ("tweet:"). */
async function earlyScore(adapter?: AdapterWeights): Promise<number> {
  let sum = 0;
  for (const item of early) {
    sum += await oppu.engine.model.score({
      prompt: 'tweet:',
      completion: ` ${item.text}`,
      ...(adapter ? { adapter } : {}),
    });
  }
  return sum / early.length;
}

describe('incremental update', () => {
  it('continues from the current adapter and keeps what it learnt from earlier items', async () => {
    const user = userId('writer');
    await oppu.service.addItems(user, early);
    const v1 = await oppu.service.train(user);
    const afterV1 = await earlyScore((await oppu.adapters.get(user, v1.version))!.weights);
    const base = await earlyScore();
    expect(afterV1).toBeGreaterThan(base);

    await oppu.service.addItems(user, late);
    const v2 = await oppu.service.train(user);
    expect(v2.parent).toBe(v1.version);
    const afterV2 = await earlyScore((await oppu.adapters.get(user, v2.version))!.weights);

    // A fresh adapter trained only on the new items, for contrast: it has no reason to know the early ones.
    const other = userId('newcomer');
    await oppu.service.addItems(other, late);
    const fresh = await oppu.service.train(other);
    const freshScore = await earlyScore((await oppu.adapters.get(other, fresh.version))!.weights);

    expect(afterV2).toBeGreaterThan(freshScore);
    expect(afterV2).toBeGreaterThan(base);
    // Most of the gain over the base on the early items survives the update.
    expect(afterV2 - base).toBeGreaterThan(0.5 * (afterV1 - base));
  });
});
