import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HNSWLib } from '@langchain/community/vectorstores/hnswlib';
import { Document } from '@langchain/core/documents';
import { RunnableLambda } from '@langchain/core/runnables';
import { userId } from '@oppu/core';
import { afterEach, describe, expect, it } from 'vitest';
import { exportToHnswlib, importFromHnswlib } from './hnswlib-interop.js';
import { OppuRetriever } from './oppu-retriever.js';
import { UserMemory } from './user-memory.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'oppu-lc-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function memoryWithTwoUsers() {
  const memory = new UserMemory({ fields: ['text'] });
  await memory.add(userId('alice'), [
    { id: 'a1', text: 'notes on sailing boats and the open ocean' },
    { id: 'a2', text: 'a recipe for sourdough bread' },
  ]);
  await memory.add(userId('bob'), [
    { id: 'b1', text: 'sailing the ocean on a boat' },
    { id: 'b2', text: 'tax forms and accounting' },
  ]);
  return memory;
}

describe('OppuRetriever (LangChain BaseRetriever)', () => {
  it('picks the user per call from configurable.userId, else the constructor; works in batch and pipes', async () => {
    const memory = await memoryWithTwoUsers();
    const retriever = new OppuRetriever({ memory, k: 1, userId: 'alice' });
    const own = await retriever.invoke('sailing ocean boat');
    expect(own.map((d) => d.metadata.id)).toEqual(['a1']);
    expect(own[0]?.pageContent).toBe('notes on sailing boats and the open ocean');
    expect(own[0]?.metadata.userId).toBe('alice');
    const forBob = await retriever.invoke('sailing ocean boat', { configurable: { userId: 'bob' } });
    expect(forBob.map((d) => d.metadata.id)).toEqual(['b1']);
    const batch = await retriever.batch(['sailing', 'sailing'], [{ configurable: { userId: 'bob' } }, {}]);
    expect(batch.map((docs) => docs[0]?.metadata.userId)).toEqual(['bob', 'alice']);
    const chain = retriever.pipe(
      RunnableLambda.from((docs: Document[]) => docs.map((d) => d.metadata.id).join(',')),
    );
    expect(await chain.invoke('bread', { configurable: { userId: 'alice' } })).toBe('a2');
    const anonymous = new OppuRetriever({ memory });
    await expect(anonymous.invoke('x')).rejects.toThrow(/no user; pass \{ configurable: \{ userId \} \}/);
    await expect(anonymous.invoke('x', { configurable: { userId: '../bob' } })).rejects.toThrow(
      /not a valid user id/,
    );
  });
});

describe('HNSWLib interop', () => {
  it('exports a user’s memory that the real HNSWLib class loads and searches', async () => {
    const memory = await memoryWithTwoUsers();
    const dir = tmp();
    expect(await exportToHnswlib(memory, userId('alice'), dir)).toBe(2);
    const store = await HNSWLib.load(dir, memory.embeddings as never);
    const [hit] = await store.similaritySearch('sourdough loaf', 1);
    expect(hit?.metadata.id).toBe('a2');
    expect(hit?.pageContent).toBe('a recipe for sourdough bread');
    const all = await store.similaritySearch('boat', 10);
    expect(all.map((d) => d.metadata.id).sort()).toEqual(['a1', 'a2']); // nothing of bob's
  });

  it('imports what HNSWLib saved into one user’s memory', async () => {
    const memory = new UserMemory({ fields: ['text'] });
    const dir = tmp();
    const store = await HNSWLib.fromDocuments(
      [
        new Document({ pageContent: 'whales and the sea', metadata: { id: 'w', date: '2020-01-01' } }),
        new Document({ pageContent: 'baking bread', metadata: { source: 'blog' } }),
      ],
      memory.embeddings as never,
    );
    await store.save(dir);
    const items = await importFromHnswlib(memory, userId('carol'), dir);
    expect(items.map((i) => i.id)).toEqual(['w', 'hnswlib-1']);
    expect((await memory.retrieve(userId('carol'), 'whales', { k: 1 }))[0]?.item).toEqual({
      id: 'w',
      date: '2020-01-01',
      text: 'whales and the sea',
    });
    expect(await memory.retrieve(userId('alice'), 'whales')).toEqual([]);
  });
});
