import { describe, expect, it } from 'vitest';
import {
  argmax,
  isGreedy,
  RepetitionGuard,
  repetitionEnabled,
  sampleToken,
  seededRandom,
} from './sampling.js';

describe('sampleToken', () => {
  const logits = Float32Array.from([0.1, 2.0, 1.9, -1, 0.5, 1.8]);

  it('is greedy at temperature 0 or with nothing set', () => {
    expect(isGreedy({})).toBe(true);
    expect(isGreedy({ temperature: 0, topK: 3 })).toBe(true);
    expect(isGreedy({ topK: 3 })).toBe(false);
    const r = seededRandom(1);
    expect(sampleToken(logits, {}, r)).toBe(1);
    expect(sampleToken(logits, { temperature: 1, topK: 1 }, r)).toBe(1);
    expect(argmax(logits)).toBe(1);
  });

  it('is reproducible for a seed and differs across seeds', () => {
    const draw = (seed: number) => {
      const r = seededRandom(seed);
      return Array.from({ length: 40 }, () => sampleToken(logits, { temperature: 1.5 }, r));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('keeps to the top-k and the top-p nucleus', () => {
    const r = seededRandom(3);
    const k2 = new Set(
      Array.from({ length: 300 }, () => sampleToken(logits, { temperature: 1, topK: 2 }, r)),
    );
    expect([...k2].sort()).toEqual([1, 2]);
    // p(1), p(2), p(5) ~ 0.32, 0.29, 0.26: top-p 0.3 keeps {1}; 0.5 keeps {1, 2}; 0.7 adds 5.
    const nucleus = (topP: number) =>
      [
        ...new Set(Array.from({ length: 300 }, () => sampleToken(logits, { temperature: 1, topP }, r))),
      ].sort();
    expect(nucleus(0.3)).toEqual([1]);
    expect(nucleus(0.5)).toEqual([1, 2]);
    expect(nucleus(0.7)).toEqual([1, 2, 5]);
  });

  it('follows the softmax at temperature 1 (frequencies within 3 standard errors)', () => {
    const r = seededRandom(11);
    const n = 20000;
    const counts = new Array(logits.length).fill(0);
    for (let i = 0; i < n; i++) counts[sampleToken(logits, { temperature: 1 }, r)]++;
    const z = Array.from(logits, (v) => Math.exp(v));
    const sum = z.reduce((a, b) => a + b, 0);
    z.forEach((v, i) => {
      const p = v / sum;
      expect(Math.abs(counts[i] / n - p)).toBeLessThan(3 * Math.sqrt((p * (1 - p)) / n) + 1e-3);
    });
  });
});

describe('RepetitionGuard', () => {
  const row = () => Float32Array.from([2, -1, 0.5, -3, 4, 0]);

  it('divides positive and multiplies negative logits of tokens already in the sequence (CTRL)', () => {
    const g = new RepetitionGuard({ repetitionPenalty: 2 }, [0, 1, 3]);
    const logits = row();
    g.apply(logits);
    expect(Array.from(logits)).toEqual([1, -2, 0.5, -6, 4, 0]);
    // Once per token however often it occurs; a new token joins the set.
    g.push(0);
    g.push(5);
    g.push(2);
    const again = row();
    g.apply(again);
    expect(Array.from(again)).toEqual([1, -2, 0.25, -6, 4, 0]);
    // Below 1 it favours repeats.
    const favour = row();
    new RepetitionGuard({ repetitionPenalty: 0.5 }, [0, 1]).apply(favour);
    expect(Array.from(favour)).toEqual([4, -0.5, 0.5, -3, 4, 0]);
  });

  it('bans each token that would complete an n-gram already in the sequence (HF no_repeat_ngram_size)', () => {
    const banned = (n: number, seq: number[]) => {
      const logits = row();
      new RepetitionGuard({ noRepeatNgramSize: n }, seq).apply(logits);
      return [...logits.keys()].filter((i) => logits[i] === Number.NEGATIVE_INFINITY);
    };
    // Last two ids (5, 1) were followed by 2 and by 4 before.
    expect(banned(3, [5, 1, 2, 0, 5, 1, 4, 3, 5, 1])).toEqual([2, 4]);
    expect(banned(2, [1, 2, 1])).toEqual([2]);
    expect(banned(2, [1, 2, 3])).toEqual([]);
    // n = 1: every token already present.
    expect(banned(1, [4, 0, 4])).toEqual([0, 4]);
    // Shorter than n - 1 tokens: nothing to ban yet (HF: cur_len + 1 < n).
    expect(banned(4, [1, 2])).toEqual([]);
    // Incremental pushes give the same as a guard built on the whole sequence.
    const g = new RepetitionGuard({ noRepeatNgramSize: 3 }, [5, 1]);
    for (const id of [2, 0, 5, 1, 4, 3, 5, 1]) g.push(id);
    const logits = row();
    g.apply(logits);
    expect([...logits.keys()].filter((i) => logits[i] === Number.NEGATIVE_INFINITY)).toEqual([2, 4]);
  });

  it("with repetitionScope 'output' looks at the output only, never the prompt", () => {
    const prompt = [4, 1, 4];
    const all = row();
    new RepetitionGuard({ repetitionPenalty: 4, noRepeatNgramSize: 2 }, prompt).apply(all);
    const outputOnly = row();
    const g = new RepetitionGuard(
      { repetitionPenalty: 4, noRepeatNgramSize: 2, repetitionScope: 'output' },
      prompt,
    );
    g.apply(outputOnly);
    expect(Array.from(outputOnly)).toEqual(Array.from(row()));
    expect(Array.from(all)).not.toEqual(Array.from(row()));
    // Once the output has its own tokens, they count: 2 then 3 bans 3 after the next 2.
    for (const id of [2, 3, 2]) g.push(id);
    const later = row();
    g.apply(later);
    expect(later[3]).toBe(Number.NEGATIVE_INFINITY);
  });

  it('applies the penalty before the ban, and both are off by default', () => {
    const logits = row();
    new RepetitionGuard({ repetitionPenalty: 4, noRepeatNgramSize: 2 }, [4, 1, 4]).apply(logits);
    expect(Array.from(logits)).toEqual([2, Number.NEGATIVE_INFINITY, 0.5, -3, 1, 0]);
    expect(repetitionEnabled({})).toBe(false);
    expect(repetitionEnabled({ repetitionPenalty: 1, noRepeatNgramSize: 0 })).toBe(false);
    expect(repetitionEnabled({ repetitionPenalty: 1.1 })).toBe(true);
    expect(repetitionEnabled({ noRepeatNgramSize: 3 })).toBe(true);
    expect(() => repetitionEnabled({ repetitionPenalty: 0 })).toThrow(
      /repetitionPenalty must be a positive number/,
    );
    expect(() => repetitionEnabled({ noRepeatNgramSize: 1.5 })).toThrow(
      /noRepeatNgramSize must be a whole number/,
    );
  });
});
