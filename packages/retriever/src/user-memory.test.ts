import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HistoryItem, userId } from '@oppu/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Bm25 } from './bm25.js';
import { ExtractiveProfileSummarizer } from './profiles/extractive-summarizer.js';
import { type MemoryWarning, UserMemory } from './user-memory.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'oppu-memory-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const alice = userId('alice');
const bob = userId('bob');

const aliceItems: HistoryItem[] = [
  { id: 'a1', date: '2021-01-01', title: 'Sailing a small boat across the ocean', tag: 'travel' },
  { id: 'a2', date: '2021-02-01', title: 'Baking sourdough bread at home', tag: 'food' },
  { id: 'a3', date: '2021-03-01', title: 'The whale hunt of the old sea captains', tag: 'history' },
  { id: 'a4', date: '2021-04-01', title: 'Gardening tips for tomatoes and peppers', tag: 'garden' },
];
// unrelated items, so that words in two of the items above keep a positive idf (rank_bm25 gives 0 at df = N/2)
const fillers: HistoryItem[] = [
  'Tax forms explained',
  'A guide to jazz piano chords',
  'Repairing a bicycle chain',
  'Chess openings for beginners',
].map((title, i) => ({ id: `f${i}`, date: '2020-06-01', title }));
const bobItems: HistoryItem[] = [
  { id: 'b1', date: '2021-01-05', title: 'Ocean sailing with a boat and a crew', tag: 'travel' },
  { id: 'b2', date: '2021-02-05', title: 'Whale watching from a boat on the sea', tag: 'nature' },
];

describe('UserMemory', () => {
  it('never returns another user’s items, before and after persistence and reload', async () => {
    const dir = tmp();
    const memory = new UserMemory({ dir, fields: ['title'] });
    await memory.add(alice, aliceItems);
    await memory.add(bob, bobItems);
    const queries = ['boat ocean sailing', 'whale sea', 'bread', 'zzz unknown words', ''];
    const check = async (m: UserMemory) => {
      for (const q of queries) {
        for (const mode of ['bm25', 'vector', 'hybrid'] as const) {
          const a = await m.retrieve(alice, q, { k: 10, mode });
          const b = await m.retrieve(bob, q, { k: 10, mode });
          expect(a.every((r) => r.item.id.startsWith('a'))).toBe(true);
          expect(b.every((r) => r.item.id.startsWith('b'))).toBe(true);
        }
      }
    };
    await check(memory);
    memory.close();
    const reloaded = new UserMemory({ dir, fields: ['title'] });
    await check(reloaded);
    expect((await reloaded.retrieve(bob, 'whale', { k: 1 }))[0]?.item.id).toBe('b2');
    // a copy of bob's index files in alice's folder is refused (owner check) and rebuilt from alice's own items
    const warnings: MemoryWarning[] = [];
    reloaded.close();
    for (const f of readdirSync(join(dir, 'users', 'bob'))) {
      writeFileSync(join(dir, 'users', 'alice', f), readFileSync(join(dir, 'users', 'bob', f)));
    }
    const third = new UserMemory({ dir, fields: ['title'], onWarning: (w) => warnings.push(w) });
    await check(third);
    expect(warnings.map((w) => w.code)).toEqual(['index_rebuilt']);
    third.close();
  });

  it('a corrupted index file gives a clear warning and is re-indexed from the history store, nothing lost', async () => {
    const dir = tmp();
    const first = new UserMemory({ dir, fields: ['title'] });
    await first.add(alice, aliceItems);
    const before = await first.retrieve(alice, 'whale sea captains', { k: 4, mode: 'vector' });
    first.close();
    const indexFile = readdirSync(join(dir, 'users', 'alice')).find((f) => f.endsWith('.hnsw')) as string;
    writeFileSync(join(dir, 'users', 'alice', indexFile), Buffer.alloc(64, 7));
    const warnings: MemoryWarning[] = [];
    const second = new UserMemory({ dir, fields: ['title'], onWarning: (w) => warnings.push(w) });
    const after = await second.retrieve(alice, 'whale sea captains', { k: 4, mode: 'vector' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(
      /vector index is damaged .*sha256.*Re-indexing 4 items of alice from the history store/,
    );
    expect(after.map((r) => r.item.id)).toEqual(before.map((r) => r.item.id));
    second.close();
    // the rebuilt index was saved: a third open needs no repair
    const third = new UserMemory({ dir, fields: ['title'], onWarning: (w) => warnings.push(w) });
    await third.retrieve(alice, 'whale', { mode: 'vector' });
    expect(warnings).toHaveLength(1);
    third.close();
  });

  it('bm25 mode is exactly rank_bm25 get_top_n over the visible items (OPPU: BM25Okapi(profile[:i]))', async () => {
    const memory = new UserMemory({ embeddings: null, fields: ['title', 'tag'] });
    await memory.add(alice, aliceItems);
    const q = 'the boat of the sea';
    const tokens = aliceItems.map((it) => `${it.title} ${it.tag}`.split(' '));
    const all = new Bm25(tokens).topN(q.split(' '), 3);
    expect((await memory.retrieve(alice, q, { k: 3 })).map((r) => r.item.id)).toEqual(
      all.map((i) => aliceItems[i]?.id),
    );
    // items before a3: the BM25 statistics come from a1, a2 only
    const early = new Bm25(tokens.slice(0, 2));
    const got = await memory.retrieve(alice, q, { k: 5, before: '2021-03-01' });
    expect(got.map((r) => r.item.id)).toEqual(early.topN(q.split(' '), 5).map((i) => aliceItems[i]?.id));
    expect(got.map((r) => r.score)).toEqual(
      early.topN(q.split(' '), 5).map((i) => early.scores(q.split(' '))[i]),
    );
    const ex = await memory.retrieve(alice, q, { k: 5, exclude: new Set(['a1', 'a3']) });
    expect(ex.map((r) => r.item.id).sort()).toEqual(['a2', 'a4']);
  });

  it('hybrid fuses BM25 and vectors; vectors find a match with no shared word', async () => {
    const memory = new UserMemory({ fields: ['title'] });
    await memory.add(alice, aliceItems);
    const vec = await memory.retrieve(alice, 'cooking a loaf in the kitchen oven', { k: 1, mode: 'vector' });
    expect(vec[0]?.item.id).toBe('a2');
    const hybrid = await memory.retrieve(alice, 'whale captains', { k: 2 });
    expect(hybrid[0]?.item.id).toBe('a3');
    expect(hybrid[0]?.score).toBeCloseTo(2 / 61, 10); // first in both lists: 1/61 + 1/61
  });

  it('update, remove, clear', async () => {
    const memory = new UserMemory({ fields: ['title'] });
    await memory.add(alice, [...aliceItems, ...fillers]);
    await memory.add(alice, [{ id: 'a2', date: '2021-02-01', title: 'whale songs recorded at sea' }]);
    expect((await memory.items(alice)).map((i) => i.id)).toEqual([
      'a1',
      'a2',
      'a3',
      'a4',
      'f0',
      'f1',
      'f2',
      'f3',
    ]);
    expect((await memory.retrieve(alice, 'whale sea', { k: 1, mode: 'bm25' }))[0]?.item.id).toBe('a2');
    await memory.remove(alice, ['a3']);
    expect((await memory.items(alice)).map((i) => i.id)).toEqual(['a1', 'a2', 'a4', 'f0', 'f1', 'f2', 'f3']);
    for (const mode of ['bm25', 'vector', 'hybrid'] as const) {
      const ids = (await memory.retrieve(alice, 'whale hunt captains', { k: 5, mode })).map((r) => r.item.id);
      expect(ids).not.toContain('a3');
      expect(ids.slice(0, 2)).toContain('a2'); // vectors may rank the sailing item close: both are about the sea
    }
    await memory.clear(alice);
    expect(await memory.retrieve(alice, 'whale')).toEqual([]);
    expect(memory.store.count(alice)).toBe(0);
  });

  it('recency weighting prefers newer items', async () => {
    const items = [
      ...aliceItems.filter((i) => i.id !== 'a2'),
      { id: 'a2', date: '2021-02-01', title: 'whale songs recorded at sea' },
      ...fillers,
    ];
    const plain = new UserMemory({ fields: ['title'], embeddings: null });
    const recent = new UserMemory({
      fields: ['title'],
      embeddings: null,
      recency: { halfLifeDays: 30, weight: 1 },
    });
    await plain.add(alice, items);
    await recent.add(alice, items);
    // the shorter a2 (February) wins on BM25; weighted by recency the March a3 does
    expect((await plain.retrieve(alice, 'whale sea', { k: 1 }))[0]?.item.id).toBe('a2');
    const hits = await recent.retrieve(alice, 'whale sea', { k: 4 });
    expect(hits[0]?.item.id).toBe('a3');
    expect(hits.find((h) => h.item.id === 'a4')?.score ?? 0).toBe(0);
  });

  it('bad input: empty history, items without the fields, bad k, bad user id', async () => {
    const memory = new UserMemory({ fields: ['text'] });
    expect(await memory.retrieve(alice, 'anything')).toEqual([]);
    await memory.add(alice, []);
    await expect(memory.add(alice, [{ id: 'x1', title: 'no text field' }])).rejects.toThrow(
      /add\(alice\): item "x1" has no "text" field \(it has "title"\)/,
    );
    expect(await memory.items(alice)).toEqual([]);
    await expect(memory.retrieve(alice, 'q', { k: -1 })).rejects.toThrow(/k must be a whole number/);
    await expect(memory.retrieve('../bob' as never, 'q')).rejects.toThrow(/not a valid user id/);
    const strict = new UserMemory({ fields: ['text', 'score'], strictFields: true, embeddings: null });
    await expect(strict.add(alice, [{ id: 'r', text: 'good' }])).rejects.toThrow(/has no "score" field/);
  });

  it('keeps the user’s profile up to date in the history store as items arrive', async () => {
    const summarizer = new ExtractiveProfileSummarizer({ now: () => new Date('2024-01-01T00:00:00Z') });
    const memory = new UserMemory({
      fields: ['title'],
      embeddings: null,
      profile: { summarizer, task: 'LaMP_2M' },
    });
    await memory.add(alice, aliceItems.slice(0, 2));
    await memory.add(alice, aliceItems.slice(2));
    const full = await summarizer.summarize(alice, aliceItems, 'LaMP_2M');
    expect(memory.profile(alice)?.text).toBe(full.text);
    expect(memory.profile(alice)?.itemCount).toBe(4);
    await memory.remove(alice, ['a1']);
    expect(memory.profile(alice)?.itemCount).toBe(3);
    expect(memory.profile(bob)).toBeUndefined();
  });
});
