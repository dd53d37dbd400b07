import type { Rng } from './prng.js';
import { FILLER } from './vocab.js';

export const capitalize = (s: string): string => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

export type Casing = 'title' | 'sentence' | 'lower' | 'upper';

/** Applies a casing style to a phrase. */
export function applyCasing(text: string, casing: Casing): string {
  switch (casing) {
    case 'title':
      return text.replace(/\b([a-z])/g, (m) => m.toUpperCase());
    case 'sentence':
      return capitalize(text.toLowerCase());
    case 'lower':
      return text.toLowerCase();
    case 'upper':
      return text.toUpperCase();
  }
}

/**
 * A sentence that reads like text: topic words (drawn from `topics`, each list weighted equally) woven with
 * function words, capitalised, ending in a full stop.
 */
export function topicSentence(
  rng: Rng,
  topics: readonly (readonly string[])[],
  length = rng.int(7, 12),
): string {
  const out: string[] = [];
  for (let i = 0; i < length; i++) {
    out.push(rng.chance(0.5) ? rng.pick(rng.pick(topics)) : rng.pick(FILLER));
  }
  return `${capitalize(out.join(' '))}.`;
}

export function topicParagraph(rng: Rng, topics: readonly (readonly string[])[], sentences: number): string {
  return Array.from({ length: sentences }, () => topicSentence(rng, topics)).join(' ');
}
