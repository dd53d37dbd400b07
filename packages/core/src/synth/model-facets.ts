import type { Lamp2MTag, Lamp2NCategory } from '../lamp/labels.js';
import { LAMP_2M_TAGS, LAMP_2N_CATEGORIES } from '../lamp/labels.js';
import type { Rng } from './prng.js';
import type { SynthExample, TaskModel } from './task-model.js';
import { topicParagraph } from './text.js';
import { MOVIE_TAG_WORDS, NEWS_CATEGORY_WORDS } from './vocab.js';

/**
 * LaMP-2M / LaMP-2N: every movie (article) has two facets, e.g. a film that is both "action" and "romance"; its
 * text mixes the words of both. The user tags it with whichever facet ranks higher in their personal ranking
 * of the 15 labels (with probability `noise`, with the other one). The top four of the ranking are the user's
 * favourites, which make up most of what they watch (read), so the labels in their history are mostly their
 * favourites: the history carries the preference the oracle follows. (Until 2026-12-03 the favourites were
 * drawn independently of the ranking, so a history said almost nothing about it: `bench:prior-check` measured
 * the best label-frequency prior moving LaMP-2M from 0.505 to 0.491.)
 *
 * - Oracle (knows the ranking): accuracy 1 - noise, about 0.9.
 * - Without the user (rank facets by a fixed global order): about 0.5 (the rankings are random per user).
 * - Shift: the ranking is redrawn, and with it the favourites.
 * Measured numbers: packages/core/README.md (`oppu synth` prints the oracle's and the rule's scores).
 */
export interface FacetPreferences {
  /** Personal ranking: labels in order of preference (first wins). */
  readonly ranking: readonly string[];
  /** Labels the user mostly watches/reads about: the top of the ranking. */
  readonly favourites: readonly string[];
}

const NOISE = 0.1;
const FAVOURITES = 4;

function facetModel(
  labels: readonly string[],
  words: Readonly<Record<string, readonly string[]>>,
  content: (text: string) => SynthExample['content'],
  fields: (text: string, answer: string) => Record<string, string>,
): TaskModel<FacetPreferences> {
  const draw = (rng: Rng): FacetPreferences => {
    const ranking = rng.shuffle(labels);
    return { ranking, favourites: ranking.slice(0, FAVOURITES) };
  };
  return {
    preferences: draw,
    shifted: (rng) => draw(rng),
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
    describe: (p) =>
      `favours ${p.favourites.join(' > ')}, then ${p.ranking.slice(FAVOURITES, FAVOURITES + 3).join(' > ')} > ...`,
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
