import type { Lamp2MTag, Lamp2NCategory } from '../lamp/labels.js';
import { LAMP_2M_TAGS, LAMP_2N_CATEGORIES } from '../lamp/labels.js';
import type { Rng } from './prng.js';
import type { SynthExample, TaskModel } from './task-model.js';
import { topicParagraph } from './text.js';
import { MOVIE_TAG_WORDS, NEWS_CATEGORY_WORDS } from './vocab.js';

/**
 * LaMP-2M / LaMP-2N: every movie (article) has two facets, e.g. a film that is both "action" and "romance"; its
 * text mixes the words of both. The user tags it with whichever facet ranks higher in their personal ranking
 * of the 15 labels (with probability `noise`, with the other one). Users also have favourite facets, which make
 * up most of what they watch (write).
 *
 * - Oracle (knows the ranking): accuracy 1 - noise, about 0.9 (measured 0.86-0.92).
 * - Without the user (rank facets by a fixed global order): about 0.53 (the rankings are random per user).
 * - Shift: the ranking is redrawn.
 */
export interface FacetPreferences {
  /** Personal ranking: labels in order of preference (first wins). */
  readonly ranking: readonly string[];
  /** Labels the user mostly watches/writes about. */
  readonly favourites: readonly string[];
}

const NOISE = 0.1;

function facetModel(
  labels: readonly string[],
  words: Readonly<Record<string, readonly string[]>>,
  content: (text: string) => SynthExample['content'],
  fields: (text: string, answer: string) => Record<string, string>,
): TaskModel<FacetPreferences> {
  return {
    preferences: (rng) => ({ ranking: rng.shuffle(labels), favourites: rng.sample(labels, 4) }),
    shifted: (rng, before) => ({ ranking: rng.shuffle(labels), favourites: before.favourites }),
    example(rng: Rng, p) {
      const first = rng.chance(0.7) ? rng.pick(p.favourites) : rng.pick(labels);
      let second = rng.pick(labels);
      while (second === first) second = rng.pick(labels);
      const text = topicParagraph(rng, [words[first]!, words[second]!], rng.int(2, 3));
      const rank = (l: string) => p.ranking.indexOf(l);
      const oracle = rank(first) < rank(second) ? first : second;
      const other = oracle === first ? second : first;
      const answer = rng.chance(NOISE) ? other : oracle;
      const baseline = labels.indexOf(first) < labels.indexOf(second) ? first : second;
      return { fields: fields(text, answer), content: content(text), answer, oracle, baseline };
    },
    describe: (p) => `prefers ${p.ranking.slice(0, 5).join(' > ')} > ...; mostly ${p.favourites.join(', ')}`,
  };
}

export const MOVIE_TAGGING_MODEL = facetModel(
  LAMP_2M_TAGS,
  MOVIE_TAG_WORDS as Readonly<Record<Lamp2MTag, readonly string[]>>,
  (text) => ({ description: text }),
  (text, answer) => ({ description: text, tag: answer }),
);

export const NEWS_CATEGORY_MODEL = facetModel(
  LAMP_2N_CATEGORIES,
  NEWS_CATEGORY_WORDS as Readonly<Record<Lamp2NCategory, readonly string[]>>,
  (text) => ({ text }),
  (text, answer) => ({ text, category: answer }),
);
