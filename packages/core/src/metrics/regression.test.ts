import { describe, expect, it } from 'vitest';
import { pyFloat, ratingValue, regressionScores } from './regression.js';

describe('LaMP-3 MAE and RMSE (hand-computed)', () => {
  it('scores an unparsable answer as the farther of 1 and 5', () => {
    // |2-1| = 1; "abc" vs 3 -> 5 (tie goes to 5) -> 2; "five" vs 5 -> 1 -> 4; " 4 " -> 0.
    const s = regressionScores(['1', '3', '5', '4'], ['2', 'abc', 'five', ' 4 ']);
    expect(s.mae).toBeCloseTo(7 / 4, 12);
    expect(s.rmse).toBeCloseTo(Math.sqrt(21 / 4), 12);
  });

  it('parses like Python float()', () => {
    expect(pyFloat(' 4 ')).toBe(4);
    expect(pyFloat('4.')).toBe(4);
    expect(pyFloat('.5')).toBe(0.5);
    expect(pyFloat('1e0')).toBe(1);
    expect(pyFloat('1_0')).toBe(10);
    expect(pyFloat('-Infinity')).toBe(-Infinity);
    expect(pyFloat('nan')).toBeNaN();
    expect(pyFloat('4 stars')).toBeUndefined();
    expect(pyFloat('')).toBeUndefined();
    expect(pyFloat('1__0')).toBeUndefined();
    expect(pyFloat('0x10')).toBeUndefined();
    expect(ratingValue('', 2)).toBe(5);
    expect(ratingValue('?', 4)).toBe(1);
  });
});
