import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OppuError } from '../contracts/errors.js';
import { parseLampInput } from '../lamp/input-format.js';
import { readQuestions, writeQuestions } from '../lamp/questions.js';
import { LAMP_TASK_IDS } from '../lamp/task-ids.js';
import { LAMP_TASKS } from '../lamp/tasks.js';
import type { StylePreferences } from './model-styled.js';
import { baseline, oracle, oracleAnswer } from './oracle.js';
import { synthesize } from './synthesize.js';

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
