import { describe, expect, it } from 'vitest';
import { AnswerFilter } from './answer-filter.js';

/** Every way of cutting `text` into two or three pieces, streamed through a fresh filter. */
function streamedEverySplit(text: string, stops: string[], trim: boolean): Set<string> {
  const outs = new Set<string>();
  for (let i = 0; i <= text.length; i++) {
    for (let j = i; j <= text.length; j++) {
      const f = new AnswerFilter(stops, { trim });
      outs.add(f.push(text.slice(0, i)) + f.push(text.slice(i, j)) + f.push(text.slice(j)) + f.end());
    }
  }
  return outs;
}

describe('AnswerFilter', () => {
  it('cuts at the earliest stop sequence, also when it spans pieces', () => {
    expect(AnswerFilter.apply('hello END world', ['END'])).toBe('hello ');
    expect(AnswerFilter.apply('a##b!!c', ['!!', '##'])).toBe('a');
    for (const text of ['hello END world', 'EN hello ENDEND', 'no stop here']) {
      expect(streamedEverySplit(text, ['END', 'D w'], false)).toEqual(
        new Set([AnswerFilter.apply(text, ['END', 'D w'])]),
      );
    }
  });

  it('with trim gives what OppuService.ask gives: the first line, trimmed', () => {
    for (const text of ['  the answer  \nmore', '\nnothing', ' a b \t', '', '   ', 'x\n\ny']) {
      const ask = text.split('\n')[0]!.trim();
      expect(AnswerFilter.apply(text, ['\n'], { trim: true })).toBe(ask);
      expect(streamedEverySplit(text, ['\n'], true)).toEqual(new Set([ask]));
    }
  });

  it('holds back only what can still become a stop sequence', () => {
    const f = new AnswerFilter(['STOP']);
    expect(f.push('abc ST')).toBe('abc ');
    expect(f.push('Ox')).toBe('STOx');
    expect(f.push(' STOP more')).toBe(' ');
    expect(f.done).toBe(true);
    expect(f.push('ignored')).toBe('');
    expect(f.end()).toBe('');
  });

  it('emits everything at once when there are no stops and no trimming', () => {
    const f = new AnswerFilter();
    expect(f.push(' a ')).toBe(' a ');
    expect(f.end()).toBe('');
  });
});
