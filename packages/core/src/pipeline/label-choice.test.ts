import { describe, expect, it } from 'vitest';
import { LAMP_TASKS } from '../lamp/tasks.js';
import { regressionScores } from '../metrics/regression.js';
import { chooseCandidate, labelChoiceDefaults } from './label-choice.js';

const ln = Math.log;

describe('chooseCandidate', () => {
  it('answers the candidate with the highest summed log-probability, with the softmax over the candidates', () => {
    // p proportional to 0.2 : 0.5 : 0.3
    const choice = chooseCandidate(['a', 'b', 'c'], {
      logProbs: [ln(0.2) - 3, ln(0.5) - 3, ln(0.3) - 3],
      tokens: [1, 2, 3],
    });
    expect(choice.answer).toBe('b');
    expect(choice.index).toBe(1);
    expect(choice.probabilities.a).toBeCloseTo(0.2, 12);
    expect(choice.probabilities.b).toBeCloseTo(0.5, 12);
    expect(choice.probabilities.c).toBeCloseTo(0.3, 12);
    expect(Object.keys(choice.probabilities)).toEqual(['a', 'b', 'c']);
    expect(choice.expected).toBeUndefined();
  });

  it('per-token normalisation divides by the tokens counted, and can change the choice', () => {
    // 'short' -2 over 1 token (mean -2); 'longer one' -3 over 3 tokens (mean -1).
    const scores = { logProbs: [-2, -3], tokens: [1, 3] };
    const none = chooseCandidate(['short', 'longer one'], scores, { normalization: 'none' });
    expect(none.answer).toBe('short');
    expect(none.probabilities.short).toBeCloseTo(1 / (1 + Math.exp(-1)), 12); // 0.7310585786
    const norm = chooseCandidate(['short', 'longer one'], scores, { normalization: 'per-token' });
    expect(norm.answer).toBe('longer one');
    expect(norm.probabilities['longer one']).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
  });

  it('stays exact for scores far below 0 (no underflow) and gives a ruled-out candidate probability 0', () => {
    const choice = chooseCandidate(['x', 'y', 'z'], {
      logProbs: [-1000, -1001, Number.NEGATIVE_INFINITY],
      tokens: [1, 1, 1],
    });
    expect(choice.answer).toBe('x');
    expect(choice.probabilities.x).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
    expect(choice.probabilities.y).toBeCloseTo(Math.exp(-1) / (1 + Math.exp(-1)), 12);
    expect(choice.probabilities.z).toBe(0);
  });

  it('breaks a tie with the first candidate', () => {
    const choice = chooseCandidate(['[1]', '[2]'], { logProbs: [-0.5, -0.5], tokens: [4, 4] });
    expect(choice).toEqual({ answer: '[1]', index: 0, probabilities: { '[1]': 0.5, '[2]': 0.5 } });
  });

  it("answers the expected rating under rating: 'expected', unrounded to two decimals", () => {
    const p = [0.1, 0.05, 0.05, 0.3, 0.5];
    const choice = chooseCandidate(
      ['1', '2', '3', '4', '5'],
      { logProbs: p.map((x) => ln(x)), tokens: [1, 1, 1, 1, 1] },
      { rating: 'expected' },
    );
    // 0.1 + 0.1 + 0.15 + 1.2 + 2.5 = 4.05
    expect(choice.expected).toBeCloseTo(4.05, 12);
    expect(choice.answer).toBe('4.05');
    expect(choice.index).toBe(4);
    // LaMP-3's metric reads it as the number: |4.05 - 5| = 0.95.
    expect(regressionScores(['5'], [choice.answer]).mae).toBeCloseTo(0.95, 12);
    const argmax = chooseCandidate(['1', '2', '3', '4', '5'], {
      logProbs: p.map((x) => ln(x)),
      tokens: [1, 1, 1, 1, 1],
    });
    expect(argmax.answer).toBe('5');
    expect(argmax.expected).toBeUndefined();
  });

  it('writes an expected rating with at most two decimals and no trailing zeros', () => {
    const answer = (p: number[]) =>
      chooseCandidate(['1', '2'], { logProbs: p.map((x) => ln(x)), tokens: [1, 1] }, { rating: 'expected' })
        .answer;
    expect(answer([0.5, 0.5])).toBe('1.5');
    expect(answer([0.123, 0.877])).toBe('1.88');
    expect(answer([0.0001, 0.9999])).toBe('2');
  });

  it('refuses what it cannot choose from, naming the candidate', () => {
    const s = { logProbs: [-1, -2], tokens: [1, 1] };
    expect(() => chooseCandidate([], { logProbs: [], tokens: [] })).toThrow('candidates is empty');
    expect(() => chooseCandidate(['a', 'a'], s)).toThrow('candidates lists "a" more than once');
    expect(() => chooseCandidate(['a', 'b', 'c'], s)).toThrow('3 candidates but 2 logProbs and 2 tokens');
    expect(() => chooseCandidate(['a', 'b'], { logProbs: [-1, Number.NaN], tokens: [1, 1] })).toThrow(
      'logProbs[1] (candidate "b") is NaN',
    );
    expect(() =>
      chooseCandidate(['a', 'b'], { logProbs: [-1, -2], tokens: [1, 0] }, { normalization: 'per-token' }),
    ).toThrow('tokens[1] (candidate "b") is 0');
    expect(() =>
      chooseCandidate(['a', 'b'], {
        logProbs: [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
        tokens: [1, 1],
      }),
    ).toThrow('every candidate has log-probability -Infinity');
    expect(() => chooseCandidate(['a', 'b'], s, { rating: 'expected' })).toThrow(
      `rating 'expected' needs numeric candidates; "a" is not a number`,
    );
  });

  it("keeps a candidate named like an object's prototype as a plain key", () => {
    const choice = chooseCandidate(['__proto__', 'b'], { logProbs: [-1, -2], tokens: [1, 1] });
    expect(Object.keys(choice.probabilities)).toEqual(['__proto__', 'b']);
    expect(Object.getPrototypeOf(choice.probabilities)).toBe(Object.prototype);
  });
});

describe('labelChoiceDefaults', () => {
  it('has a default for every LaMP label task, and answers ratings from the label set', () => {
    for (const task of Object.values(LAMP_TASKS)) {
      if (task.kind === 'generation') continue;
      expect(labelChoiceDefaults(task)).toEqual({ normalization: 'none', rating: 'argmax' });
    }
    expect(labelChoiceDefaults({ id: 'my-task', kind: 'classification' })).toEqual({
      normalization: 'none',
      rating: 'argmax',
    });
  });
});
