import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OppuError } from '../contracts/errors.js';
import { parseLampInput } from '../lamp/input-format.js';
import { readQuestions, writeQuestions } from '../lamp/questions.js';
import { LAMP_TASK_IDS } from '../lamp/task-ids.js';
import { LAMP_TASKS } from '../lamp/tasks.js';
import type { FacetPreferences } from './model-facets.js';
import type { StylePreferences } from './model-styled.js';
import { baseline, oracle, oracleAnswer } from './oracle.js';
import { synthesize } from './synthesize.js';
import { type FacetPhrases, SENTIMENT } from './vocab.js';
import { MOVIE_TAG_PHRASES } from './vocab-movies.js';
import { NEWS_CATEGORY_PHRASES } from './vocab-news.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oppu-synth-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const main = (s: Record<string, unknown>) => {
  const { task: _t, count: _c, ...rest } = s;
  return Object.values(rest)[0] as number;
};

describe('synthesize', () => {
  it.each(LAMP_TASK_IDS)('writes valid official-format data for %s', async (task) => {
    const d = synthesize({ task, users: 4, items: 6, queries: 2, seed: 11 });
    expect(d.questions).toHaveLength(8);
    expect(d.outputs.golds.map((g) => g.id)).toEqual(d.questions.map((q) => q.id));
    const p = join(dir, `${task}.json`);
    await writeQuestions(p, d.questions);
    const back = await readQuestions(p, { task });
    expect(back).toHaveLength(8);
    for (const q of back) parseLampInput(task, q.input);
    const labels = LAMP_TASKS[task].labels;
    if (labels.length) for (const g of d.outputs.golds) expect(labels).toContain(g.output);
  });

  it('is deterministic for a seed, and a user does not depend on how many users are drawn', () => {
    const a = synthesize({ task: 'LaMP_2N', users: 3, items: 8, queries: 2, seed: 5 });
    const b = synthesize({ task: 'LaMP_2N', users: 3, items: 8, queries: 2, seed: 5 });
    const c = synthesize({ task: 'LaMP_2N', users: 3, items: 8, queries: 2, seed: 6 });
    const more = synthesize({ task: 'LaMP_2N', users: 5, items: 8, queries: 2, seed: 5 });
    expect(JSON.stringify(b.questions)).toBe(JSON.stringify(a.questions));
    expect(JSON.stringify(c.questions)).not.toBe(JSON.stringify(a.questions));
    expect(JSON.stringify(more.questions.slice(0, 6))).toBe(JSON.stringify(a.questions));
  });

  it('varies activity between users (log-uniform history sizes)', () => {
    const d = synthesize({ task: 'LaMP_3', users: 40, items: 20, queries: 1, seed: 2 });
    const sizes = d.users.map((u) => u.historySize);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(40);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeGreaterThan(12);
    const dates = d.questions[0]!.profile.map((p) => p.date!);
    expect([...dates].sort()).toEqual(dates);
  });

  it.each(LAMP_TASK_IDS)(
    '%s needs the user: the latent-preference oracle beats the user-agnostic rule',
    (task) => {
      const d = synthesize({ task, users: 30, items: 10, queries: 4, seed: 3 });
      const o = oracle(d) as unknown as Record<string, number>;
      const b = baseline(d) as unknown as Record<string, number>;
      if (task === 'LaMP_3') {
        expect(o.MAE).toBeLessThan(0.3);
        expect(b.MAE! - o.MAE!).toBeGreaterThan(0.4);
      } else {
        expect(main(o)).toBeGreaterThan(0.8);
        expect(main(o) - main(b)).toBeGreaterThan(0.15);
      }
      const first = d.questions[0]!.id;
      expect(typeof oracleAnswer(d, first)).toBe('string');
    },
  );

  it('makes users change their style after the shift date', () => {
    const d = synthesize({ task: 'LaMP_4', users: 30, items: 30, queries: 2, seed: 9, shift: 0.5 });
    let checked = 0;
    for (const u of d.users) {
      const before = u.preferences as StylePreferences;
      const after = u.shiftedPreferences as StylePreferences;
      expect(u.shiftDate).toBeDefined();
      if (!before.prefix || !after.prefix) continue;
      const profile = d.questions.find((q) => q.user_id === u.userId)!.profile;
      const old = profile.filter((p) => p.date! < u.shiftDate!);
      const recent = profile.filter((p) => p.date! >= u.shiftDate!);
      const share = (items: typeof profile, prefix: string) =>
        items.filter((p) => p.title!.startsWith(prefix)).length / Math.max(items.length, 1);
      expect(share(old, before.prefix)).toBeGreaterThan(0.6);
      expect(share(recent, after.prefix)).toBeGreaterThan(0.6);
      expect(share(recent, before.prefix)).toBeLessThan(0.2);
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
  });

  it.each(LAMP_TASK_IDS)('%s writes sentences a person can read', (task) => {
    const d = synthesize({ task, users: 12, items: 6, queries: 2, seed: 21 });
    // The prose a user reads: every question's content, and the history's inputs (not the styled outputs).
    const prose = new Set<string>();
    for (const q of d.questions) {
      const content = parseLampInput(task, q.input) as unknown as Record<string, string>;
      for (const [field, value] of Object.entries(content))
        if (!field.startsWith('reference')) prose.add(value);
      for (const item of q.profile) {
        for (const field of ['abstract', 'description']) if (item[field]) prose.add(item[field]!);
        if (item.text && task !== 'LaMP_7') prose.add(item.text);
      }
    }
    expect(prose.size).toBeGreaterThan(15);
    for (const text of prose) {
      expect(text, 'a template slot left unfilled').not.toMatch(/[{}]/);
      expect(text, 'a word twice in a row').not.toMatch(/\b(\w+) \1\b/i);
      expect(text, '"a" before a vowel').not.toMatch(/\ba [aeio]/i);
      if (task === 'LaMP_1' && !text.includes('.')) continue; // a paper title
      expect(text, 'ends a sentence (an email may end with its sign-off)').toMatch(/[.!?,]$/);
      for (const sentence of text.split(/(?<=[.!?]) /)) {
        expect(sentence, `a sentence of "${text}"`).toMatch(/^[A-Z]/);
        if (!sentence.endsWith(',')) {
          expect(sentence.split(' ').length, `a sentence of "${text}"`).toBeGreaterThanOrEqual(3);
        }
      }
    }
  });

  it.each([
    ['LaMP_2M', MOVIE_TAG_PHRASES, 'description', 'tag'],
    ['LaMP_2N', NEWS_CATEGORY_PHRASES, 'text', 'category'],
  ] as const)(
    '%s: the text is written from two facets, one of them the label; history labels are mostly the favourites',
    (task, phrases, field, labelField) => {
      const d = synthesize({ task, users: 60, items: 16, queries: 1, seed: 8 });
      const named = (text: string) =>
        Object.entries(phrases as Readonly<Record<string, FacetPhrases>>)
          .filter(([, p]) => [...p.who, ...p.does, ...p.where, ...p.themes].some((ph) => text.includes(ph)))
          .map(([label]) => label);
      let favourite = 0;
      let total = 0;
      let topIsFavourite = 0;
      for (const u of d.users) {
        const prefs = u.preferences as FacetPreferences;
        expect(prefs.favourites).toEqual(prefs.ranking.slice(0, 4));
        expect(u.description.startsWith(`favours ${prefs.favourites.join(' > ')}, then `)).toBe(true);
        const profile = d.questions.find((q) => q.user_id === u.userId)!.profile;
        const counts = new Map<string, number>();
        for (const item of profile) {
          const label = item[labelField]!;
          const facets = named(item[field]!.toLowerCase());
          expect(facets, item[field]).toContain(label);
          expect(facets.length, item[field]).toBeGreaterThanOrEqual(2);
          counts.set(label, (counts.get(label) ?? 0) + 1);
          if (prefs.favourites.includes(label)) favourite++;
          total++;
        }
        const most = Math.max(...counts.values());
        if ([...counts].every(([label, n]) => n < most || prefs.favourites.includes(label))) topIsFavourite++;
      }
      // Measured: favourites are 0.77 of the history labels; the top label is a favourite for 0.98 of users.
      expect(favourite / total).toBeGreaterThan(0.7);
      expect(topIsFavourite / d.users.length).toBeGreaterThan(0.9);
    },
  );

  it("LaMP_3: the review's words show the product's quality (the user-agnostic rule's answer)", () => {
    const d = synthesize({ task: 'LaMP_3', users: 50, items: 4, queries: 4, seed: 4 });
    const literal = (t: string) => t.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
    const pattern = (template: string) => new RegExp(template.split('{product}').map(literal).join('.+?'));
    let right = 0;
    for (const q of d.questions) {
      const text = (parseLampInput('LaMP_3', q.input) as { text: string }).text;
      const votes = SENTIMENT.map(
        (level) =>
          level.adjectives.filter((a) => new RegExp(`\\b${a}\\b`, 'i').test(text)).length +
          level.sentences.filter((t) => pattern(t).test(text)).length,
      );
      if (votes.indexOf(Math.max(...votes)) + 1 === Number(d.baselineAnswers.get(q.id))) right++;
    }
    // Measured 0.915: a quarter of the sentiment-bearing parts come from a neighbouring level.
    expect(right / d.questions.length).toBeGreaterThan(0.85);
  });

  it('refuses bad options with clear errors', () => {
    expect(() => synthesize({ task: 'LaMP_9', users: 1, items: 2, queries: 1, seed: 1 })).toThrow(
      /unknown task/,
    );
    expect(() => synthesize({ task: 'LaMP_3', users: 0, items: 2, queries: 1, seed: 1 })).toThrow(
      'synthesize: users must be an integer >= 1 (got 0)',
    );
    expect(() => synthesize({ task: 'LaMP_3', users: 1, items: 2, queries: 1, seed: 1, shift: 1.5 })).toThrow(
      OppuError,
    );
  });
});
