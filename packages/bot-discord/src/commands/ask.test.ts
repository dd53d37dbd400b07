import type { Answer } from '@oppu/core';
import { describe, expect, it } from 'vitest';
import { askReply } from './ask.js';

const answer = (extra: Partial<Answer>): Answer => ({
  text: 'sports',
  method: 'oppu+rag',
  prompt: 'p',
  retrieved: [{ id: 'i1' }],
  ...extra,
});

describe('/ask reply', () => {
  it("shows a label task's three most probable labels under the label answered", () => {
    const reply = askReply(
      answer({
        adapterVersion: 2,
        probabilities: { politics: 0.2, sports: 0.62, crime: 0.084, travel: 0.096 },
      }),
    );
    expect(reply).toBe(
      'sports\n-# sports 62% · politics 20% · travel 10%\n-# your adapter v2 · oppu+rag · 1 of your items recalled',
    );
  });

  it('shows a generated answer as it is, and says when the base model answered', () => {
    const reply = askReply(answer({ text: 'rain again lol', method: 'rag' }));
    expect(reply.split('\n')).toEqual([
      'rain again lol',
      '-# base model: you have no adapter here yet. To personalize, /remember a few things you wrote (or /collect on), then /train.',
    ]);
    expect(askReply(answer({ text: '' })).split('\n')[0]).toBe('(the model returned an empty answer)');
  });
});
