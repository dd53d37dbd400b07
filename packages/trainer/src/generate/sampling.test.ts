import { describe, expect, it } from 'vitest';
import { argmax, isGreedy, sampleToken, seededRandom } from './sampling.js';

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
