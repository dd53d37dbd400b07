import type { SynthExample, TaskModel } from './task-model.js';
import { fill } from './text.js';
import { PRODUCTS, REVIEW_CLOSERS, REVIEW_OPENERS, SENTIMENT } from './vocab.js';

/**
 * LaMP-3: a review's sentences show the product's true quality q (1..5): it opens and closes with an adjective
 * and has two or three sentences between, each drawn from q's level or, a quarter of the time, a neighbouring
 * one ("It feels cheap and flimsy." for 2 stars). The user's score is q plus their personal bias (a harsh
 * critic gives 2 where a generous one gives 4), clamped to 1..5, and with probability `noise` one step off.
 *
 * - Oracle (knows q and the bias): MAE about 0.1 (the noise, less where clamping absorbs it), RMSE about 0.33
 *   (measured MAE 0.10-0.12, RMSE 0.32-0.35).
 * - Without the user (score = q): MAE about 0.8 (the bias, partly clamped away; measured 0.67-0.89).
 * - Reading the review: a vote of its sentiment words and sentences gives q for about 0.9 of reviews.
 * Measured with `oppu synth --task LaMP_3 --users 50 --items 40 --queries 5 --seed S` for S = 1, 2, 3.
 * - Shift: the bias changes (moves by 2 towards the other side).
 */
export interface RatingPreferences {
  readonly bias: number;
  readonly products: readonly string[];
}

const NOISE = 0.15;
const clamp = (x: number) => Math.min(5, Math.max(1, x));
const BIAS_WORDS: Readonly<Record<number, string>> = {
  [-2]: 'a harsh critic: rates two stars below what a product deserves',
  [-1]: 'a strict critic: rates one star below what a product deserves',
  0: 'a fair critic: rates a product what it deserves',
  1: 'a kind critic: rates one star above what a product deserves',
  2: 'a generous critic: rates two stars above what a product deserves',
};

export const RATING_MODEL: TaskModel<RatingPreferences> = {
  preferences: (rng) => ({
    bias: [-2, -1, 0, 1, 2][rng.weighted([1, 2.5, 2, 2.5, 1])]!,
    products: rng.sample(PRODUCTS, 5),
  }),
  shifted: (_rng, before) => ({ ...before, bias: before.bias > 0 ? before.bias - 2 : before.bias + 2 }),
  example(rng, p): SynthExample {
    const quality = rng.int(1, 5);
    const product = rng.chance(0.8) ? rng.pick(p.products) : rng.pick(PRODUCTS);
    // Each part is drawn from q's level, or a quarter of the time from a neighbouring one; no sentence twice.
    const used = new Set<string>();
    const part = (templates: (level: (typeof SENTIMENT)[number]) => readonly string[]) => {
      const i = rng.chance(0.75) ? quality - 1 : quality - 1 + (rng.chance(0.5) ? 1 : -1);
      const level = SENTIMENT[Math.min(4, Math.max(0, i))]!;
      let template = rng.pick(templates(level));
      while (used.has(template)) template = rng.pick(templates(level));
      used.add(template);
      return fill(rng, template, { product, adjective: level.adjectives });
    };
    const text = [
      part(() => REVIEW_OPENERS),
      ...Array.from({ length: rng.int(2, 3) }, () => part((level) => level.sentences)),
      part(() => REVIEW_CLOSERS),
    ].join(' ');
    const oracle = clamp(quality + p.bias);
    const answer = rng.chance(NOISE) ? clamp(oracle + (rng.chance(0.5) ? 1 : -1)) : oracle;
    return {
      fields: { text, score: String(answer) },
      content: { text },
      answer: String(answer),
      oracle: String(oracle),
      baseline: String(quality),
    };
  },
  describe: (p) => `${BIAS_WORDS[p.bias] ?? `bias ${p.bias}`}; buys mostly ${p.products.join(', ')}`,
};
