import { describe, expect, it } from 'vitest';
import { LAMP_1_LABELS } from '../lamp/labels.js';
import { classificationScores } from './classification.js';

describe('accuracy and macro-F1 (hand-computed)', () => {
  it('maps answers outside the label set to a class that hurts recall only', () => {
    // golds a a b c / preds a x b b.  a: tp1 fn1 -> 2/3; b: tp1 fp1 -> 2/3; c: fn1 -> 0.  macro = 4/9.
    const s = classificationScores(['a', 'b', 'c'], ['a', 'a', 'b', 'c'], ['a', 'x', 'b', 'b']);
    expect(s.accuracy).toBe(0.5);
    expect(s.f1).toBeCloseTo(4 / 9, 12);
  });

  it('averages over every label, counting absent ones as 0', () => {
    // Only "a" occurs and is always right: F1(a) = 1, F1(b) = F1(c) = 0 -> 1/3.
    const s = classificationScores(['a', 'b', 'c'], ['a', 'a'], ['a', 'a']);
    expect(s.accuracy).toBe(1);
    expect(s.f1).toBeCloseTo(1 / 3, 12);
  });

  it('strips whitespace but is otherwise exact (case matters, as in LaMP)', () => {
    const s = classificationScores(LAMP_1_LABELS, ['[1]', '[2]', '[1]'], [' [1]\n', '2', '[1]']);
    // [1]: tp2 -> 1; [2]: fn1 -> 0.  macro 0.5; accuracy 2/3.
    expect(s.accuracy).toBeCloseTo(2 / 3, 12);
    expect(s.f1).toBeCloseTo(0.5, 12);
  });
});
