import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '@oppu/core';
import { afterEach, describe, expect, it } from 'vitest';
import { VectorIndex } from './vector-index.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'oppu-vectors-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Deterministic pseudo-random vectors in [-0.5, 0.5) (core's mulberry32). */
function rng(seed: number) {
  const next = mulberry32(seed);
  return () => next() - 0.5;
}
const vec = (r: () => number, dim: number) => Array.from({ length: dim }, r);

describe('VectorIndex', () => {
  for (const bruteForceBelow of [0, 1_000_000]) {
    const mode = bruteForceBelow === 0 ? 'HNSW' : 'brute force';
    it(`${mode}: add, update, delete, date filter, exclude; capacity grows`, () => {
      const index = new VectorIndex(3, { bruteForceBelow, initialCapacity: 2 });
      index.upsert('x', [1, 0, 0], '2020-01-01');
      index.upsert('y', [0, 1, 0], '2021-01-01');
      index.upsert('z', [0.9, 0.1, 0], '2022-01-01');
      expect(index.capacity).toBeGreaterThanOrEqual(3);
      expect(index.search([1, 0, 0], 2).map((h) => h.id)).toEqual(['x', 'z']);
      expect(index.search([1, 0, 0], 1)[0]?.score).toBeCloseTo(1, 6);
      expect(index.search([1, 0, 0], 3, { before: '2021-06-01' }).map((h) => h.id)).toEqual(['x', 'y']);
      expect(index.search([1, 0, 0], 3, { exclude: new Set(['x']) }).map((h) => h.id)).toEqual(['z', 'y']);
      index.upsert('x', [0, 0, 1], '2020-01-01'); // update moves x
      expect(index.search([0, 0, 1], 1).map((h) => h.id)).toEqual(['x']);
      expect(index.delete('z')).toBe(true);
      expect(index.delete('z')).toBe(false);
      expect(
        index
          .search([1, 0, 0], 5)
          .map((h) => h.id)
          .sort(),
      ).toEqual(['x', 'y']);
      expect(index.size).toBe(2);
      // deleted slots are reused: two updates and a delete left 2 free slots; adding 2 keeps capacity
      const cap = index.capacity;
      index.upsert('p', [1, 1, 0]);
      index.upsert('q', [1, 0, 1]);
      expect(index.capacity).toBe(cap);
    });
  }

  it('persists and reloads; updates after reload keep working', () => {
    const dir = tmp();
    const r = rng(1);
    const index = new VectorIndex(8, { owner: 'alice', embedder: 'e1', bruteForceBelow: 0 });
    for (let i = 0; i < 50; i++)
      index.upsert(`i${i}`, vec(r, 8), `2020-01-${String((i % 28) + 1).padStart(2, '0')}`);
    index.delete('i3');
    index.save(dir);
    index.upsert('late', vec(r, 8));
    index.save(dir); // the second save replaces the first index file
    expect(readdirSync(dir).filter((f) => f.endsWith('.hnsw'))).toHaveLength(1);
    const q = vec(r, 8);
    const loaded = VectorIndex.load(dir, { owner: 'alice', embedder: 'e1', bruteForceBelow: 0 });
    expect(loaded.size).toBe(50);
    expect(loaded.has('i3')).toBe(false);
    expect(loaded.search(q, 5)).toEqual(index.search(q, 5));
    expect(loaded.search(q, 50, { before: '2020-01-05' }).every((h) => Number(h.id.slice(1)) % 28 < 4)).toBe(
      true,
    );
    loaded.upsert('i3', vec(r, 8));
    expect(loaded.has('i3')).toBe(true);
    expect(loaded.capacity).toBe(index.capacity);
  });

  it('refuses another owner, another embedder, and a damaged file with clear errors', () => {
    const dir = tmp();
    const index = new VectorIndex(4, { owner: 'alice', embedder: 'e1' });
    index.upsert('a', [1, 2, 3, 4]);
    index.save(dir);
    expect(() => VectorIndex.load(dir, { owner: 'bob' })).toThrow(/belongs to "alice", not "bob"/);
    expect(() => VectorIndex.load(dir, { owner: 'alice', embedder: 'e2' })).toThrow(/built by embedder "e1"/);
    const file = readdirSync(dir).find((f) => f.endsWith('.hnsw')) as string;
    writeFileSync(join(dir, file), 'garbage');
    expect(() => VectorIndex.load(dir, { owner: 'alice' })).toThrow(/vector index is damaged .*sha256/);
    writeFileSync(join(dir, 'vectors.json'), '{"format":');
    expect(() => VectorIndex.load(dir, { owner: 'alice' })).toThrow(/cannot be read as JSON/);
  });

  it('rejects wrong dimensions and zero vectors', () => {
    const index = new VectorIndex(3);
    expect(() => index.upsert('a', [1, 2])).toThrow(/2 dimensions, the index has 3/);
    expect(() => index.upsert('a', [0, 0, 0])).toThrow(/zero or not finite/);
    expect(index.search([1, 0, 0], 3)).toEqual([]);
  });

  it('HNSW finds the same neighbours as exact search on 2000 random vectors', () => {
    const r = rng(7);
    const index = new VectorIndex(32, { bruteForceBelow: 0 });
    for (let i = 0; i < 2000; i++) index.upsert(String(i), vec(r, 32));
    let found = 0;
    for (let t = 0; t < 50; t++) {
      const q = vec(r, 32);
      const exact = new Set(index.searchExact(q, 10).map((h) => h.id));
      found += index.search(q, 10).filter((h) => exact.has(h.id)).length;
    }
    expect(found / 500).toBeGreaterThanOrEqual(0.95);
  });
});
