import { describe, expect, it } from 'vitest';
import { OppuError } from '../contracts/errors.js';
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

  it('refuses NaN and infinite values with the file and the id, instead of a NaN or infinite score', () => {
    const sources = { ids: ['u1', 'u2', 'u3'], golds: 'G.json', preds: 'P.json' };
    for (const bad of ['nan', 'NaN', ' inf', '-Infinity', '1e400', '-1E999']) {
      expect(() => regressionScores(['1', '2', '3'], ['1', bad, '3'], sources)).toThrow(
        /^P\.json: id "u2": the prediction ".*" is not a finite number/,
      );
      expect(() => regressionScores(['1', '2', bad], ['1', '2', '3'], sources)).toThrow(
        /^G\.json: id "u3": the gold ".*" is not a finite number$/,
      );
    }
    expect(() => regressionScores(['x'], ['1'])).toThrow(/^golds: item 0: the gold "x" is not a number$/);
    expect(() => regressionScores(['1'], ['nan'])).toThrow(OppuError);
    // A prediction that is not a number at all still scores as LaMP scores it.
    expect(regressionScores(['1'], ['n/a']).mae).toBe(4);
  });
});
