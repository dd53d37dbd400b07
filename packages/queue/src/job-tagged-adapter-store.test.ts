import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdapterWeights, OPPU_LORA, userId } from '@oppu/core';
import { FsAdapterStore } from '@oppu/node';
import { afterEach, describe, expect, it } from 'vitest';
import { trainingJobId } from './job-id.js';
import { JobTaggedAdapterStore } from './job-tagged-adapter-store.js';

const ada = userId('ada');
const bo = userId('bo');
const weights: AdapterWeights = {
  config: { peft_type: 'LORA', r: 8 },
  tensors: new Map([['x', { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) }]]),
};
const meta = {
  task: 'LaMP_7',
  baseModel: { name: 'm', hash: 'a'.repeat(64) },
  peft: OPPU_LORA,
  createdAt: '2026-01-01T00:00:00.000Z',
  training: { steps: 3 },
};

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('JobTaggedAdapterStore', () => {
  it('writes the running job into the stored version, and finds it again after a restart', async () => {
    root = await mkdtemp(join(tmpdir(), 'oppu-tagged-'));
    const store = new JobTaggedAdapterStore(new FsAdapterStore({ root }));
    store.tag(ada, 'train.ada.1');
    const v1 = await store.put(ada, weights, meta);
    await store.put(bo, weights, meta); // another user: not tagged
    store.untag(ada);
    const v2 = await store.put(ada, weights, meta);
    expect(v1.training).toEqual({ steps: 3, job: 'train.ada.1' });
    expect(v2.training).toEqual({ steps: 3 });
    // A new process (the retried job's worker) reads it back from the disk.
    const fresh = new JobTaggedAdapterStore(new FsAdapterStore({ root }));
    expect((await fresh.findJob(ada, 'train.ada.1'))?.version).toBe(1);
    expect(await fresh.findJob(ada, 'train.ada.2')).toBeUndefined();
    expect(await fresh.findJob(bo, 'train.ada.1')).toBeUndefined();
  });

  it('stores nothing when the check before the write refuses (the worker lost the user)', async () => {
    root = await mkdtemp(join(tmpdir(), 'oppu-tagged-'));
    const store = new JobTaggedAdapterStore(new FsAdapterStore({ root }));
    store.tag(ada, 'train.ada.1', async () => {
      throw new Error('lock lost');
    });
    await expect(store.put(ada, weights, meta)).rejects.toThrow('lock lost');
    expect(await store.list(ada)).toEqual([]);
  });
});

describe('trainingJobId', () => {
  it('is the same for the same user and request, different otherwise, and has no ":"', () => {
    const a = trainingJobId(ada, 'msg-1');
    expect(trainingJobId(ada, 'msg-1')).toBe(a);
    expect(trainingJobId(ada, 'msg-2')).not.toBe(a);
    expect(trainingJobId(bo, 'msg-1')).not.toBe(a);
    expect(trainingJobId(ada, 'a:b:c')).toMatch(/^train\.ada\.[0-9a-f]{24}$/);
    expect(() => trainingJobId(ada, '')).toThrow(/"request" must be a non-empty string/);
    expect(() => trainingJobId('a b' as never, 'x')).toThrow(/not a valid user id/);
  });
});
