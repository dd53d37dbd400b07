import { describe, expect, it } from 'vitest';
import { generationScores } from './generation.js';
import { lcsLength, rouge1, rougeL, rougeTokenize } from './rouge.js';

describe("rouge_score's tokenizer", () => {
  it('lowercases and splits on every non [a-z0-9] character, without stemming', () => {
    expect(rougeTokenize("Don't Stop-Believing!! 2024")).toEqual(['don', 't', 'stop', 'believing', '2024']);
    expect(rougeTokenize('café  naïve')).toEqual(['caf', 'na', 've']);
    expect(rougeTokenize('running runs')).toEqual(['running', 'runs']);
    expect(rougeTokenize(' \n!?')).toEqual([]);
  });
});

describe('ROUGE-1 and ROUGE-L (hand-computed)', () => {
  it('counts repeated words with multiplicity, clipped by the reference', () => {
    // ref: the x2, cat, sat, on, mat (6 tokens); pred: the x3, cat (4). Overlap = min(3,2) + 1 = 3.
    const r = rouge1('the cat sat on the mat', 'the cat the the');
    expect(r.precision).toBeCloseTo(3 / 4, 12);
    expect(r.recall).toBeCloseTo(3 / 6, 12);
    expect(r.fmeasure).toBeCloseTo(0.6, 12);
  });

  it('uses the longest common subsequence for ROUGE-L', () => {
    // LCS("the cat sat on the mat", "the cat the the") = "the cat the" = 3
    expect(rougeL('the cat sat on the mat', 'the cat the the').fmeasure).toBeCloseTo(0.6, 12);
    // Reversed order: every unigram matches, but the LCS is 1 of 4.
    expect(rouge1('a b c d', 'd c b a').fmeasure).toBe(1);
    expect(rougeL('a b c d', 'd c b a').fmeasure).toBeCloseTo(0.25, 12);
    expect(lcsLength(['a', 'b', 'c', 'b', 'd', 'a', 'b'], ['b', 'd', 'c', 'a', 'b', 'a'])).toBe(4);
  });

  it('scores an empty prediction or reference 0', () => {
    expect(rouge1('hello world', '').fmeasure).toBe(0);
    expect(rougeL('hello world', '').fmeasure).toBe(0);
    expect(rouge1('', 'hello').fmeasure).toBe(0);
    expect(rougeL('', '').fmeasure).toBe(0);
    expect(rouge1('hello', '!!!').fmeasure).toBe(0);
  });

  it('is case- and punctuation-insensitive', () => {
    expect(rouge1('New York, NY', 'new york ny').fmeasure).toBe(1);
    expect(rougeL('New York, NY', 'new-york-ny').fmeasure).toBe(1);
  });

  it('averages F1 over items', () => {
    // items: 0.6 / 0.6, 1 / 0.25, 0 / 0  ->  rouge-1 1.6/3, rouge-L 0.85/3
    const s = generationScores(
      ['the cat sat on the mat', 'a b c d', 'x'],
      ['the cat the the', 'd c b a', ''],
    );
    expect(s.rouge1).toBeCloseTo(1.6 / 3, 12);
    expect(s.rougeL).toBeCloseTo(0.85 / 3, 12);
  });
});
