/**
 * Per-user caps (issue 12), on the real local service: history size (`limit_items`), adapter versions kept
 * (older ones pruned) and training time (`limit_train_time`, the previous adapter kept). Each is enforced with
 * a message that says which user, which limit and what to do, and a refused request changes nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LIMITS, lampTask, OPPU_LORA, OppuError, OppuService, userId } from '@oppu/core';
import { createEngine, createLocalOppu, createRanker, type LocalOppu, writeTestCheckpoint } from '@oppu/node';
import type { TfPeftEngine } from '@oppu/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const alice = userId('alice');
const bob = userId('bob');
const item = (i: number, who = 'alice') => ({ id: `${who}${i}`, text: `${who} wrote note number ${i}` });

let root: string;
let engine: TfPeftEngine;
let oppu: LocalOppu;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-limits-'));
  await writeTestCheckpoint(join(root, 'model'));
  engine = await createEngine({ baseModelDir: join(root, 'model'), onLog: () => {} });
  oppu = await createLocalOppu({
    home: join(root, 'home'),
    engine,
    task: 'LaMP_7',
    training: { maxSteps: 1, batchSize: 2, seed: 3 },
    peft: { ...OPPU_LORA, dropout: 0 },
    limits: { maxItems: 5, maxVersions: 2 },
    onLog: () => {},
  });
});
afterAll(async () => {
  await oppu?.close();
  engine?.dispose();
  await rm(root, { recursive: true, force: true });
});

async function errorOf(work: Promise<unknown>): Promise<OppuError> {
  try {
    await work;
  } catch (error) {
    expect(error).toBeInstanceOf(OppuError);
    return error as OppuError;
  }
  throw new Error('expected an OppuError');
}

describe('per-user limits', () => {
  it('the defaults are 10,000 items, 10 versions and 30 minutes of training', () => {
    expect(DEFAULT_LIMITS).toEqual({ maxItems: 10_000, maxVersions: 10, maxTrainSeconds: 1_800 });
    expect(oppu.service.limits).toEqual({ maxItems: 5, maxVersions: 2, maxTrainSeconds: 1_800 });
  });

  it('history size: an add that would pass the cap is refused whole, other users unaffected', async () => {
    expect(await oppu.service.addItems(alice, [item(1), item(2), item(3)])).toBe(3);
    const e = await errorOf(oppu.service.addItems(alice, [item(4), item(5), item(6)]));
    expect(e.code).toBe('limit_items');
    expect(e.message).toBe('user alice would have 6 history items; the limit is 5 (remove some first)');
    expect((await oppu.service.items(alice)).map((i) => i.id)).toEqual(['alice1', 'alice2', 'alice3']);
    // Up to the cap is fine, and one user's history does not count against another's.
    expect(await oppu.service.addItems(alice, [item(4), item(5)])).toBe(5);
    expect(
      await oppu.service.addItems(
        bob,
        [1, 2, 3, 4, 5].map((i) => item(i, 'bob')),
      ),
    ).toBe(5);
    expect((await errorOf(oppu.service.addItems(alice, [item(6)]))).code).toBe('limit_items');
    // Removing makes room again.
    await oppu.service.removeItems(alice, ['alice5']);
    expect(await oppu.service.addItems(alice, [item(6)])).toBe(5);
  });

  it('adapter versions: only the newest maxVersions are kept, the others are pruned after each training', async () => {
    for (let i = 0; i < 3; i++) await oppu.service.train(alice);
    const versions = await oppu.service.versions(alice);
    expect(versions.map((v) => v.version)).toEqual([2, 3]);
    expect((await oppu.adapters.get(alice))?.meta.version).toBe(3);
    expect((await errorOf(oppu.adapters.get(alice, 1))).code).toBe('adapter_not_found');
  });

  it('training time: a job past maxTrainSeconds is stopped, nothing is stored, the previous adapter is kept', async () => {
    // The same stores, served with a 0.2 s training budget and a job far longer than that.
    const strict = new OppuService({
      engine,
      task: lampTask('LaMP_7'),
      adapters: oppu.adapters,
      history: oppu.history,
      ranker: createRanker(),
      peft: { ...OPPU_LORA, dropout: 0 },
      training: { maxSteps: 100_000, batchSize: 2, seed: 3 },
      limits: { maxTrainSeconds: 0.2 },
    });
    const before = await strict.versions(alice);
    const started = Date.now();
    const e = await errorOf(strict.train(alice));
    expect(e.code).toBe('limit_train_time');
    expect(e.message).toBe(
      'training of user alice ran past the limit of 0.2 s and was stopped; the previous adapter is kept',
    );
    expect(Date.now() - started).toBeLessThan(30_000); // stopped, not run to its 100,000 steps
    expect(await strict.versions(alice)).toEqual(before);
    expect(
      (await strict.ask(alice, lampTask('LaMP_7').formatInput({ text: 'hello there' }))).adapterVersion,
    ).toBe(before.at(-1)!.version);
  });
});
