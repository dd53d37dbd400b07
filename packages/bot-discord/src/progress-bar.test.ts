import { describe, expect, it } from 'vitest';
import { LiveReply } from './live-reply.js';
import { progressBar, progressLine } from './progress-bar.js';

describe('progress', () => {
  it('draws a bar and a line', () => {
    expect(progressBar(3, 10, 10)).toBe('[███░░░░░░░] 30%');
    expect(progressBar(5, 0, 4)).toBe('[░░░░] 0%');
    expect(progressLine({ phase: 'step', done: 2, total: 4, loss: 2.34567, etaSeconds: 3.2 })).toBe(
      '[██████████░░░░░░░░░░] 50% · step 2/4 · loss 2.346 · ~4 s left',
    );
  });

  it('LiveReply sends at most one edit per interval, always the latest, and the final text last', async () => {
    const sent: string[] = [];
    const live = new LiveReply(
      async (c) => {
        sent.push(c);
      },
      40,
      (e) => {
        throw e;
      },
    );
    live.update('a');
    live.update('b');
    await new Promise((r) => setTimeout(r, 10));
    live.update('c');
    live.update('d');
    await new Promise((r) => setTimeout(r, 80));
    await live.finish('done');
    live.update('late');
    await new Promise((r) => setTimeout(r, 60));
    expect(sent).toEqual(['b', 'd', 'done']);
  });
});
