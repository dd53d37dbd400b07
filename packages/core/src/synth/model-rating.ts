import type { SynthExample, TaskModel } from './task-model.js';
import { capitalize, topicSentence } from './text.js';
import { PRODUCTS, SENTIMENT_WORDS } from './vocab.js';

/**
 * LaMP-3: a review's words show the product's true quality q (1..5, mostly; a quarter of the sentiment words
 * come from a neighbouring level). The user's score is q plus their personal bias (a harsh critic gives 2 where
 * a generous one gives 4), clamped to 1..5, and with probability `noise` one step off.
 *
 * - Oracle (knows q and the bias): MAE about 0.1 (the noise, less where clamping absorbs it), RMSE about 0.32.
 * - Without the user (score = q): MAE about 0.8 (the bias, partly clamped away).
 * - Shift: the bias changes (moves by 2 towards the other side).
 */
export interface RatingPreferences {
  readonly bias: number;
  readonly products: readonly string[];
}

const NOISE = 0.15;
const clamp = (x: number) => Math.min(5, Math.max(1, x));

export const RATING_MODEL: TaskModel<RatingPreferences> = {
  preferences: (rng) => ({
    bias: [-2, -1, 0, 1, 2][rng.weighted([1, 2.5, 2, 2.5, 1])]!,
    products: rng.sample(PRODUCTS, 5),
  }),
  shifted: (_rng, before) => ({ ...before, bias: before.bias > 0 ? before.bias - 2 : before.bias + 2 }),
  example(rng, p): SynthExample {
    const quality = rng.int(1, 5);
    const product = rng.chance(0.8) ? rng.pick(p.products) : rng.pick(PRODUCTS);
    const level = (i: number) => SENTIMENT_WORDS[Math.min(4, Math.max(0, i))]!;
    const sentiment = Array.from({ length: 8 }, () =>
      rng.chance(0.75) ? level(quality - 1) : level(quality - 1 + (rng.chance(0.5) ? 1 : -1)),
    );
    const text = [
      `${capitalize(`bought this ${product} last month and it is ${rng.pick(sentiment[0]!)}`)}.`,
      topicSentence(rng, sentiment, rng.int(6, 9)),
      `The ${product} is ${rng.pick(sentiment[1]!)} overall.`,
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
  describe: (p) => `rating bias ${p.bias > 0 ? '+' : ''}${p.bias}; buys ${p.products.join(', ')}`,
};
