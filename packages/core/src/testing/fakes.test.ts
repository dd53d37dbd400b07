import { describe, expect, it } from 'vitest';
import { OPPU_LORA } from '../contracts/peft.js';
import type { AdapterWeights } from '../contracts/tensors.js';
import { userId } from '../contracts/user.js';
import { FakePeftEngine, fakeAdapterAnswers } from './fake-engine.js';
import { InMemoryAdapterStore } from './in-memory-adapter-store.js';
import { InMemoryHistoryStore } from './in-memory-history-store.js';

const ann = userId('ann');
const bob = userId('bob');
const examples = [
  { prompt: 'tag: robots', answer: 'sci-fi' },
  { prompt: 'tag: road trip', answer: 'comedy' },
  { prompt: 'tag: space', answer: 'sci-fi' },
];
const meta = {
  task: 'LaMP_2M',
  baseModel: { name: 'fake', hash: 'h' },
  peft: OPPU_LORA,
  createdAt: '2026-01-01T00:00:00.000Z',
};

describe('FakePeftEngine', () => {
  it('trains deterministically: counts per answer, steps and progress from the training config', async () => {
    const engine = new FakePeftEngine();
    const events: number[] = [];
    const options = { peft: OPPU_LORA, training: { batchSize: 2, epochs: 2 } };
    const a = await engine.trainAdapter(examples, { ...options, onProgress: (e) => events.push(e.done) });
    const b = await engine.trainAdapter(examples, options);
    expect(a.steps).toBe(4); // 2 batches x 2 epochs
    expect(events).toEqual([1, 2, 3, 4]);
    expect(a.losses).toEqual([1, 1 / 2, 1 / 3, 1 / 4]);
    expect(fakeAdapterAnswers(a.weights)).toEqual([
      { answer: 'sci-fi', count: 4 },
      { answer: 'comedy', count: 2 },
    ]);
    expect(b.weights).toEqual(a.weights);
    expect(engine.trainedOn).toEqual([examples, examples]);
    // Generation and label scores follow the adapter; the base has no preference.
    const [tuned] = await engine.model.generate([{ prompt: 'x', adapter: a.weights }]);
    expect(tuned?.text).toBe('sci-fi');
    const [base] = await engine.model.scoreCandidates([{ prompt: 'x', candidates: ['comedy', 'sci-fi'] }]);
    expect(base?.logProbs[0]).toBe(base?.logProbs[1]);
    const [mine] = await engine.model.scoreCandidates([
      { prompt: 'x', candidates: ['comedy', 'sci-fi'], adapter: a.weights },
    ]);
    expect(mine!.logProbs[1]!).toBeGreaterThan(mine!.logProbs[0]!);
  });

  it('continues an init, stops on a signal with cancelled, and refuses use after dispose', async () => {
    const engine = new FakePeftEngine();
    const first = await engine.trainAdapter(examples.slice(1, 2), {
      peft: OPPU_LORA,
      training: { maxSteps: 1 },
    });
    const more = await engine.trainAdapter(examples.slice(0, 1), {
      peft: OPPU_LORA,
      init: first.weights,
      training: { maxSteps: 3 },
    });
    expect(fakeAdapterAnswers(more.weights)).toEqual([
      { answer: 'sci-fi', count: 3 },
      { answer: 'comedy', count: 1 },
    ]);
    const abort = new AbortController();
    const stopped = await engine.trainAdapter(examples, {
      peft: OPPU_LORA,
      training: { maxSteps: 10, batchSize: 1 },
      signal: abort.signal,
      onProgress: (e) => e.done === 2 && abort.abort(),
    });
    expect([stopped.steps, stopped.cancelled]).toEqual([2, true]);
    engine.dispose();
    await expect(engine.trainAdapter(examples, { peft: OPPU_LORA })).rejects.toThrow('used after dispose');
  });
});

describe('InMemoryAdapterStore', () => {
  const weights = (v: number): AdapterWeights => ({
    config: { peft_type: 'LORA' },
    tensors: new Map([['w', { dtype: 'float32', shape: [2], data: Float32Array.of(v, v) }]]),
  });

  it("numbers each user's versions, copies weights, and round-trips export/import", async () => {
    const store = new InMemoryAdapterStore();
    const w = weights(1);
    const v1 = await store.put(ann, w, meta);
    (w.tensors.get('w')!.data as Float32Array)[0] = 9; // the caller's array changes; the stored one does not
    await store.put(ann, weights(2), meta);
    await store.put(bob, weights(3), meta);
    expect(v1).toMatchObject({ userId: ann, version: 1, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await store.list(ann)).map((m) => m.version)).toEqual([1, 2]);
    expect([...((await store.get(ann, 1))!.weights.tensors.get('w')!.data as Float32Array)]).toEqual([1, 1]);
    expect((await store.get(bob))!.meta.version).toBe(1);

    const archive = await store.export(ann);
    const other = new InMemoryAdapterStore();
    expect((await other.import(bob, archive)).map((m) => [m.userId, m.version])).toEqual([
      [bob, 1],
      [bob, 2],
    ]);
    await expect(other.import(bob, archive, { name: 'other', hash: 'x' })).rejects.toThrow(
      'trained on base model fake, not on other',
    );
    await expect(other.import(bob, archive, undefined, { maxVersions: 1 })).rejects.toThrow(
      'holds 2 versions',
    );
    const tampered = new TextDecoder().decode(archive).replace('"values":[2,2]', '"values":[2,3]');
    await expect(other.import(bob, new TextEncoder().encode(tampered))).rejects.toThrow('checksum');
    await expect(store.put(ann, weights(Number.NaN), meta)).rejects.toThrow('holds NaN at element 0');
    await store.delete(ann, 1);
    expect((await store.list(ann)).map((m) => m.version)).toEqual([2]);
    await store.delete(ann);
    expect(await store.get(ann)).toBeUndefined();
  });
});

describe('InMemoryHistoryStore', () => {
  it('replaces items by id in place, removes, and forgets everything of one user', () => {
    const h = new InMemoryHistoryStore();
    h.add(ann, [
      { id: 'a', text: 'one', date: '2026-01-01' },
      { id: 'b', text: 'two', date: '2026-01-03' },
    ]);
    h.add(ann, [{ id: 'a', text: 'one again', date: '2026-01-01' }]);
    h.add(bob, [{ id: 'a', text: "bob's" }]);
    expect(h.list(ann).map((it) => it.text)).toEqual(['one again', 'two']);
    expect(h.list(ann, { before: '2026-01-02' }).map((it) => it.id)).toEqual(['a']);
    h.putProfile({ userId: ann, text: 'likes one', itemCount: 2, updatedAt: 'now' }, 'LaMP_2M');
    h.setSetting(ann, 'k', { n: 1 });
    expect(h.remove(ann, ['b', 'zz'])).toBe(1);
    h.forget(ann);
    expect([h.count(ann), h.getProfile(ann, 'LaMP_2M'), h.getSetting(ann, 'k'), h.users()]).toEqual([
      0,
      undefined,
      undefined,
      [bob],
    ]);
  });
});
