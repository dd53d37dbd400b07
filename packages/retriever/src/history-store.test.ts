import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OppuError, userId } from '@oppu/core';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { HISTORY_SCHEMA_VERSION, HistoryStore } from './history-store.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'oppu-history-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const alice = userId('alice');
const bob = userId('bob');

describe('HistoryStore', () => {
  it('keeps items per user in insertion order, replaces by id, filters by date, survives reopening', () => {
    const path = join(tmp(), 'h', 'history.sqlite');
    const store = new HistoryStore(path);
    store.add(alice, [
      { id: 'a1', date: '2020-01-01', text: 'first' },
      { id: 'a2', date: '2021-01-01', text: 'second' },
    ]);
    store.add(bob, [{ id: 'a1', text: 'bob has an a1 too' }]);
    store.add(alice, [
      { id: 'a1', date: '2020-01-01', text: 'first, edited' },
      { id: 'a3', text: 'undated' },
    ]);
    expect(store.list(alice).map((i) => [i.id, i.text])).toEqual([
      ['a1', 'first, edited'],
      ['a2', 'second'],
      ['a3', 'undated'],
    ]);
    expect(store.list(alice, { before: '2021-01-01' }).map((i) => i.id)).toEqual(['a1']);
    expect(store.list(bob).map((i) => i.text)).toEqual(['bob has an a1 too']);
    expect(store.schemaVersion).toBe(HISTORY_SCHEMA_VERSION);
    store.close();

    const again = new HistoryStore(path);
    expect(again.count(alice)).toBe(3);
    expect(again.remove(alice, ['a2', 'missing'])).toBe(1);
    expect(again.get(alice, 'a2')).toBeUndefined();
    expect(again.users()).toEqual(['alice', 'bob']);
    again.close();
  });

  it('forget(user) removes items, profile and settings of that user only', () => {
    const store = new HistoryStore(':memory:');
    store.add(alice, [{ id: '1', text: 'x' }]);
    store.add(bob, [{ id: '1', text: 'y' }]);
    store.putProfile(
      { userId: alice, text: 'likes x', itemCount: 1, updatedAt: '2024-01-01T00:00:00Z' },
      'tags',
    );
    store.setSetting(alice, 'k', { topK: 3 });
    expect(store.getSetting(alice, 'k')).toEqual({ topK: 3 });
    expect(store.getProfile(alice, 'tags')?.text).toBe('likes x');
    store.forget(alice);
    expect(store.list(alice)).toEqual([]);
    expect(store.getProfile(alice, 'tags')).toBeUndefined();
    expect(store.getSetting(alice, 'k')).toBeUndefined();
    expect(store.list(bob)).toHaveLength(1);
  });

  it('rejects bad items with where and what, and writes nothing of a bad batch', () => {
    const store = new HistoryStore(':memory:');
    expect(() =>
      store.add(alice, [
        { id: 'ok', text: 'x' },
        { id: '', text: 'y' },
      ]),
    ).toThrow(/item 1 has no "id"/);
    expect(() => store.add(alice, [{ id: '7', score: 5 } as never])).toThrow(
      /item 0 \(id "7"\): field "score" is a number/,
    );
    expect(store.count(alice)).toBe(0);
    expect(() => store.list('../etc' as never)).toThrow(OppuError);
  });

  it('uses WAL and refuses a schema newer than it knows', () => {
    const path = join(tmp(), 'history.sqlite');
    new HistoryStore(path).close();
    const raw = new Database(path);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.pragma(`user_version = ${HISTORY_SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => new HistoryStore(path)).toThrow(/newer than this @oppu\/retriever understands/);
  });
});
