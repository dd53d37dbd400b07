import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLampInput, readOutputs, readQuestions } from '@oppu/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadWriters,
  makeRealData,
  type RealDataOptions,
  type Writer,
  wordCount,
  writeRealData,
} from './make-data.js';

const TINY: Partial<RealDataOptions> = {
  users: 5,
  queries: 12,
  minItems: 4,
  maxItems: 9,
  minWords: 3,
  maxWords: 600,
  titleWords: 10,
};

describe('bench/real-data make-data', () => {
  let writers: Writer[];
  let dir: string;
  beforeAll(async () => {
    writers = loadWriters();
    dir = await mkdtemp(join(tmpdir(), 'oppu-real-data-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('gives the promised users, queries and history sizes, from all three corpora', () => {
    const { questions, outputs, shape } = makeRealData(TINY, writers);
    const byUser = new Map<string, typeof questions>();
    for (const q of questions) byUser.set(q.user_id!, [...(byUser.get(q.user_id!) ?? []), q]);
    expect(byUser.size).toBe(5);
    expect(questions).toHaveLength(12);
    expect(shape).toMatchObject({ users: 5, queries: 12 });
    expect(shape.sources).toEqual({ 'moby-dick': 1, sotu: 2, brown: 2 });
    for (const [user, qs] of byUser) {
      // 12 queries over 5 users: two or three each; all of a user's questions share one history.
      expect([2, 3], user).toContain(qs.length);
      expect(qs[0]!.profile.length, user).toBeGreaterThanOrEqual(4);
      expect(qs[0]!.profile.length, user).toBeLessThanOrEqual(9);
      for (const q of qs) expect(q.profile, user).toBe(qs[0]!.profile);
    }
    expect(outputs.golds.map((g) => g.id)).toEqual(questions.map((q) => q.id));
  });

  it('keeps every item and query within the word range, with both ends of it represented', () => {
    const { questions, outputs } = makeRealData(TINY, writers);
    const items = [...new Set(questions.flatMap((q) => q.profile))];
    const words = [
      ...items.map((it) => wordCount(it.text!)),
      ...questions.map((q) => wordCount(parseLampInput('LaMP_6', q.input, q.id).text)),
    ];
    expect(Math.min(...words)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...words)).toBeLessThanOrEqual(600);
    expect(Math.min(...words)).toBeLessThanOrEqual(10);
    expect(Math.max(...words)).toBeGreaterThanOrEqual(300);
    for (const title of [...items.map((it) => it.title!), ...outputs.golds.map((g) => g.output)]) {
      expect(wordCount(title)).toBeGreaterThan(0);
      expect(wordCount(title)).toBeLessThanOrEqual(10);
    }
    // Real text, not invented: every query text is found verbatim in its writer's corpus.
    const q = questions.find((x) => x.user_id!.startsWith('sotu_'))!;
    const text = parseLampInput('LaMP_6', q.input, q.id).text;
    const corpus = writers
      .find((w) => w.key === q.user_id)!
      .docs.map((d) => d.sentences.join(' '))
      .join(' ');
    expect(corpus).toContain(text);
  });

  it('is deterministic, and the seed changes it', () => {
    const a = makeRealData(TINY, writers);
    expect(makeRealData(TINY, writers)).toEqual(a);
    expect(makeRealData({ ...TINY, seed: 2 }, writers).outputs).not.toEqual(a.outputs);
  });

  it('writes files that oppu reads as LaMP_6 (or LaMP_4) questions and outputs', async () => {
    for (const task of ['LaMP_6', 'LaMP_4'] as const) {
      const data = makeRealData({ ...TINY, task }, writers);
      const files = await writeRealData(join(dir, task), data);
      const read = await readQuestions(files.questions, { task });
      expect(read).toEqual(data.questions);
      const outputs = await readOutputs(files.outputs);
      expect(outputs.task).toBe(task);
      expect(outputs.golds).toHaveLength(12);
    }
  });

  it('refuses options it cannot honour with one line naming the option', () => {
    expect(() => makeRealData({ ...TINY, queries: 3 }, writers)).toThrow(/3 queries cannot give 5 users/);
    expect(() => makeRealData({ ...TINY, minItems: 10, maxItems: 5 }, writers)).toThrow(/minItems/);
    expect(() => makeRealData({ ...TINY, users: 80, queries: 80 }, writers)).toThrow(/fewer --users/);
  });
});
