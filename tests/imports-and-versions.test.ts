/**
 * User story: "a training that went wrong, an archive I should not have imported, or items I removed never
 * change what answers me": a job whose loss is not finite fails and keeps my previous adapter; an import with
 * more versions than the service keeps is refused whole; removing items rebuilds my profile from what is left,
 * and removing the last one removes the profile.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AdapterTrainingResult,
  lampTask,
  OPPU_LORA,
  OppuError,
  OppuService,
  type PeftEngine,
  userId,
} from '@oppu/core';
import { createEngine, createLocalOppu, createRanker, type LocalOppu, writeTestCheckpoint } from '@oppu/node';
import type { TfPeftEngine } from '@oppu/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const alice = userId('alice');
const bob = userId('bob');
const carol = userId('carol');
const item = (i: number, who: string, word: string) => ({
  id: `${who}${i}`,
  text: `${word} ${word} note ${i}`,
});

let root: string;
let engine: TfPeftEngine;
let oppu: LocalOppu;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-imports-'));
  await writeTestCheckpoint(join(root, 'model'));
  engine = await createEngine({ baseModelDir: join(root, 'model'), onLog: () => {} });
  oppu = await createLocalOppu({
    home: join(root, 'home'),
    engine,
    task: 'LaMP_7',
    training: { maxSteps: 1, batchSize: 2, seed: 3 },
    peft: { ...OPPU_LORA, dropout: 0 },
    limits: { maxVersions: 3 },
    onLog: () => {},
  });
});
afterAll(async () => {
  await oppu?.close();
  engine?.dispose();
  await rm(root, { recursive: true, force: true });
});

async function errorOf(work: Promise<unknown>): Promise<OppuError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OppuError);
  return error as OppuError;
}

/**
 * The real engine, except that the users in `nan` end their training with a loss of NaN. `order` names the user
 * of each call (one user per `trainAdapter`, one per set of `trainAdapters`, in the order the service plans them).
 */
function diverging(order: readonly string[], nan: readonly string[]): PeftEngine {
  const poison = (r: AdapterTrainingResult, user: string | undefined) =>
    user !== undefined && nan.includes(user) ? { ...r, finalLoss: Number.NaN } : r;
  return {
    model: engine.model,
    trainAdapter: async (examples, options) => poison(await engine.trainAdapter(examples, options), order[0]),
    trainAdapters: async (sets, options) =>
      (await engine.trainAdapters(sets, options)).map((r, i) => poison(r, order[i])),
  };
}

function serviceOn(e: PeftEngine): OppuService {
  return new OppuService({
    engine: e,
    task: lampTask('LaMP_7'),
    adapters: oppu.adapters,
    history: oppu.history,
    ranker: createRanker(),
    peft: { ...OPPU_LORA, dropout: 0 },
    training: { maxSteps: 1, batchSize: 2, seed: 3 },
  });
}

describe('imports and versions', () => {
  it('a job whose loss is not finite fails and keeps the previous version', async () => {
    await oppu.service.addItems(alice, [item(1, 'alice', 'apple'), item(2, 'alice', 'apple')]);
    const v1 = await oppu.service.train(alice);
    const error = await errorOf(serviceOn(diverging(['alice'], ['alice'])).train(alice));
    expect(error.code).toBe('training_diverged');
    expect(error.message).toBe(
      'training of user alice: the loss became NaN; nothing was stored and the previous adapter is kept (lower the learning rate)',
    );
    expect((await oppu.service.versions(alice)).map((m) => m.version)).toEqual([v1.version]);
    const answer = await oppu.service.ask(alice, lampTask('LaMP_7').formatInput({ text: 'hello' }));
    expect(answer.adapterVersion).toBe(v1.version);
  });

  it('in a job of several users, one that diverged keeps its version and the others are stored', async () => {
    await oppu.service.addItems(bob, [item(1, 'bob', 'berry'), item(2, 'bob', 'berry')]);
    const before = (await oppu.service.versions(alice)).map((m) => m.version);
    const error = await errorOf(serviceOn(diverging(['alice', 'bob'], ['alice'])).trainMany([alice, bob]));
    expect(error.message).toMatch(/^training of user alice: the loss became NaN; nothing was stored/);
    expect((await oppu.service.versions(alice)).map((m) => m.version)).toEqual(before);
    expect((await oppu.service.versions(bob)).map((m) => m.version)).toEqual([1]);
  });

  it('an import holding more versions than the service keeps is refused whole', async () => {
    for (let i = 0; i < 4; i++)
      await oppu.adapters.put(carol, (await oppu.adapters.get(bob))!.weights, {
        task: 'LaMP_7',
        baseModel: { name: engine.model.info.name, hash: engine.model.info.hash },
        peft: { ...OPPU_LORA, dropout: 0 },
        createdAt: '2026-01-01T00:00:00.000Z',
      });
    const archive = await oppu.adapters.export(carol); // 4 versions, straight from the store
    const before = await oppu.service.versions(bob);
    const error = await errorOf(oppu.service.importAdapter(bob, archive));
    expect(error.message).toBe(
      'adapter archive: holds 4 versions; at most 3 are kept per user (export fewer, or raise maxVersions)',
    );
    expect(await oppu.service.versions(bob)).toEqual(before);
    await oppu.adapters.delete(carol, 1);
    expect((await oppu.service.importAdapter(bob, await oppu.adapters.export(carol))).length).toBe(3);
  });

  it('removing items rebuilds the profile; removing the last one removes it', async () => {
    const dave = userId('dave');
    await oppu.service.addItems(dave, [item(1, 'dave', 'zebra'), item(2, 'dave', 'quokka')]);
    expect((await oppu.service.profile(dave))?.text).toMatch(/zebra/);
    await oppu.service.removeItems(dave, ['dave1']);
    const rebuilt = await oppu.service.profile(dave);
    expect(rebuilt?.itemCount).toBe(1);
    expect(rebuilt?.text).not.toMatch(/zebra/);
    await oppu.service.removeItems(dave, ['dave2']);
    expect(await oppu.service.profile(dave)).toBeUndefined();
    const prompt = (await oppu.service.prepare(dave, lampTask('LaMP_7').formatInput({ text: 'zebra' })))
      .prompt;
    expect(prompt).not.toMatch(/zebra note|quokka/);
  });
});
