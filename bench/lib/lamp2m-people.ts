import { type HistoryItem, LAMP_TASKS, synthesize } from '@oppu/core';

/** A simulated playground user: the history it adds and the questions (movie descriptions) it asks. */
export interface BenchPerson {
  readonly id: string;
  readonly items: HistoryItem[];
  readonly questions: string[];
}

/**
 * `count` synthetic LaMP-2M users for the benches that drive the playground over HTTP (16 history items and 6
 * questions each, seeded), named by `id(i)`.
 */
export function lamp2mPeople(count: number, seed: number, id: (i: number) => string): BenchPerson[] {
  const data = synthesize({ task: 'LaMP_2M', users: count, items: 16, queries: 6, seed });
  return data.users.map((u, i) => {
    const qs = data.questions.filter((q) => q.user_id === u.userId);
    return {
      id: id(i),
      items: [...qs[0]!.profile],
      questions: qs.map((q) => LAMP_TASKS.LaMP_2M.parseInput(q.input).description),
    };
  });
}
