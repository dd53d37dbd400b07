/**
 * Retrieval-quality check of the default embeddings against BM25, on text the word vectors never saw: the held-out
 * Brown files (number ending in 0). Each file is cut into passages of 6 sentences; the history item is a passage's
 * last 3 sentences and the query its first 3, so the right item shares topic but not wording. Each Brown genre
 * (a..r) is one user, whose history is all that genre's held-out passages; a second run puts every passage in one
 * user's history (a larger, harder pool). Reports recall@1/5/10 of the right item.
 *
 *   pnpm --filter @oppu/retriever eval-embeddings
 */
import { userId } from '@oppu/core';
import { UserMemory } from '../src/user-memory.js';
import { brownFiles, isHeldOutBrown } from './corpora.js';

interface Case {
  user: string;
  id: string;
  query: string;
  item: string;
}

const cases: Case[] = [];
for (const file of brownFiles().filter((f) => isHeldOutBrown(f.name))) {
  for (let s = 0; s + 6 <= file.sentences.length; s += 6) {
    cases.push({
      user: `brown-${file.name.slice(1, 2)}`,
      id: `${file.name}-${s}`,
      query: file.sentences.slice(s, s + 3).join(' '),
      item: file.sentences.slice(s + 3, s + 6).join(' '),
    });
  }
}
const ks = [1, 5, 10];
const configs = [
  { name: 'BM25, OPPU tokens (split " ")', mode: 'bm25', tokenizer: 'oppu' },
  { name: 'BM25, words tokenizer', mode: 'bm25', tokenizer: 'words' },
  { name: 'SIF word vectors (default embeddings)', mode: 'vector', tokenizer: 'oppu' },
  { name: 'hybrid RRF: BM25 OPPU + SIF', mode: 'hybrid', tokenizer: 'oppu' },
  { name: 'hybrid RRF: BM25 words + SIF', mode: 'hybrid', tokenizer: 'words' },
] as const;

for (const pooled of [false, true]) {
  const userOf = (x: Case) => (pooled ? 'everyone' : x.user);
  const users = [...new Set(cases.map(userOf))];
  console.log(
    `\nheld-out Brown passages: ${cases.length} queries, ${users.length} user${users.length > 1 ? 's (one per genre)' : ''}, ${Math.round(cases.length / users.length)} items per user on average`,
  );
  console.log(`| retrieval | ${ks.map((k) => `recall@${k}`).join(' | ')} |`);
  console.log(`| --- | ${ks.map(() => '---').join(' | ')} |`);
  for (const c of configs) {
    const memory = new UserMemory({ fields: ['text'], tokenizer: c.tokenizer, mode: c.mode });
    for (const u of users) {
      await memory.add(
        userId(u),
        cases.filter((x) => userOf(x) === u).map((x) => ({ id: x.id, text: x.item })),
      );
    }
    const hits = ks.map(() => 0);
    for (const x of cases) {
      const got = (await memory.retrieve(userId(userOf(x)), x.query, { k: 10 })).map((r) => r.item.id);
      ks.forEach((k, i) => {
        if (got.slice(0, k).includes(x.id)) hits[i] = (hits[i] as number) + 1;
      });
    }
    console.log(`| ${c.name} | ${hits.map((h) => (h / cases.length).toFixed(3)).join(' | ')} |`);
    memory.close();
  }
}
