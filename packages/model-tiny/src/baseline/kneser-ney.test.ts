import { describe, expect, it } from 'vitest';
import { KneserNeyTrigram } from './kneser-ney.js';

describe('KneserNeyTrigram', () => {
  // Stream 0 1 2 0 1 3 0 1 2 over V = 4. Trigram counts: 012:2, 120, 201, 013, 130, 301: 1 each.
  const lm = new KneserNeyTrigram([0, 1, 2, 0, 1, 3, 0, 1, 2], 4);

  it('uses Ney discounts n1/(n1+2 n2) per order', () => {
    expect(lm.discounts.d3).toBeCloseTo(5 / 7, 12); // trigram counts: five 1s, one 2
    expect(lm.discounts.d2).toBeCloseTo(2 / 3, 12); // continuation counts of vw: 01:2, 12, 13, 20, 30: 1
    expect(lm.discounts.d1).toBeCloseTo(3 / 5, 12); // continuation counts of w: 0:2, 1, 2, 3: 1
  });

  it('matches the hand-computed probabilities', () => {
    // P1(2) = (max(1 - 3/5, 0) + 3/5 * 4/4) / 5 = 0.2
    expect(lm.unigram(2)).toBeCloseTo(0.2, 12);
    // P2(2|1) = (max(1 - 2/3, 0) + 2/3 * 2 * 0.2) / 2 = 0.3
    expect(lm.bigram(1, 2)).toBeCloseTo(0.3, 12);
    // P3(2|0 1) = (max(2 - 5/7, 0) + 5/7 * 2 * 0.3) / 3 = 4/7
    expect(lm.trigram(0, 1, 2)).toBeCloseTo(4 / 7, 12);
    // Unseen context (2 2): falls back to P2(w|2); P2(0|2) = (1 - 2/3 + 2/3 * 1 * P1(0)) / 1
    const p1of0 = (2 - 0.6 + 0.6) / 5;
    expect(lm.trigram(2, 2, 0)).toBeCloseTo(1 / 3 + (2 / 3) * p1of0, 12);
  });

  it('gives a proper distribution in every context, seen or not', () => {
    for (let u = 0; u < 4; u++) {
      for (let v = 0; v < 4; v++) {
        let sum = 0;
        for (let w = 0; w < 4; w++) {
          const p = lm.trigram(u, v, w);
          expect(p).toBeGreaterThan(0);
          sum += p;
        }
        expect(sum).toBeCloseTo(1, 12);
      }
    }
  });

  it('scores held-out text: lower cross-entropy on text like the training text', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    // A source that mostly repeats 0 1 2 3 4 5 with some noise, V = 16.
    const sample = (n: number) =>
      Array.from({ length: n }, (_, i) => (rand() < 0.9 ? i % 6 : Math.floor(rand() * 16)));
    const model = new KneserNeyTrigram(sample(20_000), 16);
    const structured = model.crossEntropy(sample(2_000));
    const random = model.crossEntropy(Array.from({ length: 2_000 }, () => Math.floor(rand() * 16)));
    expect(structured).toBeLessThan(1);
    expect(random).toBeGreaterThan(Math.log(16) * 0.8);
  });

  it('rejects tokens outside the vocabulary', () => {
    expect(() => new KneserNeyTrigram([0, 1, 9], 4)).toThrow(/token 9 at position 2/);
  });
});
