import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../synth/prng.js';
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

/** The two-row dynamic programme lcsLength used before: the reference the bit-parallel one must equal. */
function lcsTable(a: readonly string[], b: readonly string[]): number {
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

function words(next: () => number, n: number, vocabulary: number): string[] {
  return Array.from({ length: n }, () => `w${Math.floor(next() * vocabulary)}`);
}

describe('ROUGE-L on long texts', () => {
  it('the bit-parallel LCS equals the dynamic programme (lengths across word boundaries, small and large alphabets)', () => {
    const next = mulberry32(7);
    for (let trial = 0; trial < 300; trial++) {
      const n = Math.floor(next() * 140);
      const m = Math.floor(next() * 140);
      const vocabulary = 1 + Math.floor(next() * 12);
      const a = words(next, n, vocabulary);
      const b = words(next, m, vocabulary);
      expect(lcsLength(a, b), `${a.join(' ')} | ${b.join(' ')}`).toBe(lcsTable(a, b));
      expect(lcsLength(b, a)).toBe(lcsLength(a, b));
    }
    for (const n of [31, 32, 33, 63, 64, 65]) {
      const a = words(next, n, 3);
      expect(lcsLength(a, a)).toBe(n);
      expect(lcsLength(a, [...a].reverse())).toBe(lcsTable(a, [...a].reverse()));
    }
  });

  it('stays fast: 5,000 x 5,000 tokens in well under a second, 50,000 x 50,000 in seconds (the dynamic programme took 21 s)', () => {
    const next = mulberry32(11);
    const text = (n: number) => words(next, n, 2000).join(' ');
    const [a5, b5] = [text(5_000), text(5_000)];
    let t0 = performance.now();
    const small = rougeL(a5, b5);
    const ms5 = performance.now() - t0;
    expect(small.fmeasure).toBeCloseTo(lcsTable(rougeTokenize(a5), rougeTokenize(b5)) / 5_000, 12);

    const [a50, b50] = [text(50_000), text(50_000)];
    t0 = performance.now();
    const large = rougeL(a50, b50);
    const ms50 = performance.now() - t0;
    console.log(
      `[rouge-L] 5,000 x 5,000 tokens: ${ms5.toFixed(1)} ms; 50,000 x 50,000: ${ms50.toFixed(0)} ms`,
    );
    expect(large.fmeasure).toBeGreaterThan(0);
    expect(ms5).toBeLessThan(500);
    expect(ms50).toBeLessThan(4_000);
  });
});
