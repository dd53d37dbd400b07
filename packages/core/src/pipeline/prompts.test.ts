import { describe, expect, it } from 'vitest';
import type { TextRanker } from '../contracts/engine.js';
import type { HistoryItem } from '../contracts/history.js';
import { LAMP_TASKS } from '../lamp/tasks.js';
import { assemblePrompt, questionPrompt, trainingExamples, truncateItem } from './prompts.js';
import { groupUsers } from './run-lamp.js';

/** Ranks by the number of query words a document contains (ties: earlier first). */
const overlap: TextRanker = {
  topK(documents, query, k) {
    const q = new Set(query.toLowerCase().split(/\s+/));
    return documents
      .map((d, i) => ({
        i,
        s: d
          .toLowerCase()
          .split(/\s+/)
          .filter((w) => q.has(w)).length,
      }))
      .sort((a, b) => b.s - a.s || a.i - b.i)
      .slice(0, k)
      .map((x) => x.i);
  },
};

const task = LAMP_TASKS.LaMP_2M;
const items: HistoryItem[] = [
  { id: '1', description: 'a robot uprising in space', tag: 'sci-fi' },
  { id: '2', description: 'two friends fall in love in paris', tag: 'romance' },
  { id: '3', description: 'robot detectives in space solve a murder', tag: 'sci-fi' },
];

describe('OPPU prompts', () => {
  it('assembles profile, then retrieved history, then the prompt', () => {
    expect(assemblePrompt('P', { history: 'H\n', profile: 'U' })).toBe('U\nH\n\nP');
    expect(assemblePrompt('P', {})).toBe('P');
  });

  it("trains item i with retrieval over the user's items before i only", () => {
    const ex = trainingExamples(task, items, { k: 1, ranker: overlap });
    expect(ex).toHaveLength(3);
    expect(ex[0]!.prompt).toBe(task.promptAnswer(items[0]!).prompt); // nothing before item 0
    expect(ex[2]!.prompt.startsWith('description: a robot uprising in space tag: sci-fi\n\n')).toBe(true);
    expect(ex[1]!.prompt).not.toContain('robot detectives'); // a later item never leaks backwards
    expect(ex.map((e) => e.answer)).toEqual(['sci-fi', 'romance', 'sci-fi']);
  });

  it('puts the profile before every training prompt with +PAG', () => {
    const ex = trainingExamples(task, items, { k: 0, profile: 'likes sci-fi' });
    expect(ex.every((e) => e.prompt.startsWith('likes sci-fi\n'))).toBe(true);
  });

  it("builds a question prompt from the user's whole history", () => {
    const input = task.formatInput({ description: 'a space robot rebels' });
    const p = questionPrompt(task, input, items, { k: 2, ranker: overlap, profile: 'PROFILE' });
    expect(p.startsWith('PROFILE\ndescription: a robot uprising in space tag: sci-fi\n')).toBe(true);
    expect(p.endsWith(task.prompt({ description: 'a space robot rebels' }))).toBe(true);
  });

  it('truncates fields to the first words, keeping id and date', () => {
    const t = truncateItem({ id: 'a b c', date: '2020-01-01', text: 'one two  three four' }, 2);
    expect(t).toEqual({ id: 'a b c', date: '2020-01-01', text: 'one two' });
  });

  it("groups questions by user and never merges two users' histories", () => {
    const users = groupUsers([
      { id: 'q1', input: 'x', user_id: 'u1', profile: [items[0]!] },
      { id: 'q2', input: 'x', user_id: 'u2', profile: [items[1]!] },
      { id: 'q3', input: 'x', user_id: 'u1', profile: [items[0]!, items[2]!] },
      { id: 'q4', input: 'x', profile: [items[1]!] },
    ]);
    expect(users.map((u) => [u.userId, u.items.map((i) => i.id), u.questions.map((q) => q.id)])).toEqual([
      ['u1', ['1', '3'], ['q1', 'q3']],
      ['u2', ['2'], ['q2']],
      ['qq4', ['2'], ['q4']],
    ]);
  });
});
