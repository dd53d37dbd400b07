import { describe, expect, it } from 'vitest';
import type { CliContext } from './command.js';
import { progressBar } from './progress.js';

function context(isTTY: boolean, quiet = false): CliContext & { notes: string[] } {
  const notes: string[] = [];
  return {
    notes,
    out: () => {},
    note: (l) => notes.push(l),
    quiet,
    path: (p) => p,
    signal: new AbortController().signal,
    stderr: { isTTY } as NodeJS.WriteStream,
  };
}

describe('progressBar', () => {
  it('writes plain progress lines to a log (stderr not a terminal), throttled, and the last state on stop', () => {
    const c = context(false);
    const bar = progressBar(c, 'personalization   ', ' users', 0);
    bar.onProgress({ phase: 'personalization', done: 1, total: 4 });
    bar.onProgress({ phase: 'personalization', done: 2, total: 4 });
    bar.stop();
    bar.stop();
    expect(c.notes).toHaveLength(2);
    expect(c.notes[0]).toMatch(/^personalization: 1\/4 users \(25%\), \d+ s$/);
    expect(c.notes[1]).toMatch(/^personalization: 2\/4 users \(50%\), \d+ s$/);

    const slow = context(false);
    const quietBar = progressBar(slow, 'inference', '', 60_000);
    for (let i = 1; i <= 100; i++) quietBar.onProgress({ phase: 'inference', done: i, total: 100 });
    quietBar.stop();
    expect(slow.notes).toEqual([]); // a job shorter than one interval prints nothing
  });

  it('is silent with --quiet', () => {
    const c = context(false, true);
    const bar = progressBar(c, 'x', '', 0);
    bar.onProgress({ phase: 'x', done: 1, total: 2 });
    bar.stop();
    expect(c.notes).toEqual([]);
  });
});
