import type { Lamp2MTag, Lamp2NCategory } from '../lamp/labels.js';
import { LAMP_2M_TAGS, LAMP_2N_CATEGORIES } from '../lamp/labels.js';
import type { Rng } from './prng.js';
import type { SynthExample, TaskModel } from './task-model.js';
import { fill } from './text.js';
import type { FacetPhrases } from './vocab.js';
import { MOVIE_LINKS, MOVIE_TAG_PHRASES, MOVIE_TEMPLATES } from './vocab-movies.js';
import { NEWS_CATEGORY_PHRASES, NEWS_LINKS, NEWS_TEMPLATES } from './vocab-news.js';

/**
 * LaMP-2M / LaMP-2N: every movie (article) has two facets, e.g. a film that is both "action" and "romance"; its
 * description is written from the phrases of both (a commando who falls in love with a stranger). The user tags
 * it with whichever facet ranks higher in their personal ranking of the 15 labels (with probability `noise`,
 * with the other one). The top four of the ranking are the user's favourites, which make up most of what they
 * watch (read), so the labels in their history are mostly their favourites, in the order of the ranking.
 *
 * - Oracle (knows the ranking): accuracy 1 - noise, about 0.9 (measured 0.88-0.92).
 * - Without the user (rank facets by a fixed global order): about 0.5 (measured 0.46-0.52; the rankings are
 *   random per user).
 * - Favourites are about 0.77 of the labels in a history, and a user's most frequent label is a favourite for
 *   0.98 of users (items 16).
 * - Shift: the ranking is redrawn, and with it the favourites.
 * Measured with `oppu synth --task LaMP_2M|LaMP_2N --users 50 --items 40 --queries 5 --seed S` for S = 1, 2, 3.
 */
export interface FacetPreferences {
  /** Personal ranking: labels in order of preference (first wins). */
  readonly ranking: readonly string[];
  /** Labels the user mostly watches/reads about: the top of the ranking. */
  readonly favourites: readonly string[];
}

const NOISE = 0.1;
const FAVOURITES = 4;

interface FacetText {
  readonly phrases: Readonly<Record<string, FacetPhrases>>;
  /** Templates with `{whoA}`...`{themesB}` slots and the link slots below. */
  readonly templates: readonly string[];
  readonly links: Readonly<Record<string, readonly string[]>>;
}

/** A description of an item with two facets; which of them fills the `A` slots is drawn. */
function facetText(rng: Rng, t: FacetText, x: string, y: string): string {
  const [a, b] = rng.chance(0.5) ? [t.phrases[x]!, t.phrases[y]!] : [t.phrases[y]!, t.phrases[x]!];
  return fill(rng, rng.pick(t.templates), {
    ...t.links,
    whoA: a.who,
    doesA: a.does,
    whereA: a.where,
    themesA: a.themes,
    whoB: b.who,
    doesB: b.does,
    whereB: b.where,
    themesB: b.themes,
  });
}

function facetModel(
  labels: readonly string[],
  text: FacetText,
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
      const description = facetText(rng, text, first, second);
      const rank = (l: string) => p.ranking.indexOf(l);
      const oracle = rank(first) < rank(second) ? first : second;
      const other = oracle === first ? second : first;
      const answer = rng.chance(NOISE) ? other : oracle;
      const baseline = labels.indexOf(first) < labels.indexOf(second) ? first : second;
      return { fields: fields(description, answer), content: content(description), answer, oracle, baseline };
    },
    describe: (p) =>
      `favours ${p.favourites.join(' > ')}, then ${p.ranking.slice(FAVOURITES, FAVOURITES + 3).join(' > ')} > ...`,
  };
}

export const MOVIE_TAGGING_MODEL = facetModel(
  LAMP_2M_TAGS,
  {
    phrases: MOVIE_TAG_PHRASES as Readonly<Record<Lamp2MTag, FacetPhrases>>,
    templates: MOVIE_TEMPLATES,
    links: MOVIE_LINKS,
  },
  (text) => ({ description: text }),
  (text, answer) => ({ description: text, tag: answer }),
);

export const NEWS_CATEGORY_MODEL = facetModel(
  LAMP_2N_CATEGORIES,
  {
    phrases: NEWS_CATEGORY_PHRASES as Readonly<Record<Lamp2NCategory, FacetPhrases>>,
    templates: NEWS_TEMPLATES,
    links: NEWS_LINKS,
  },
  (text) => ({ text }),
  (text, answer) => ({ text, category: answer }),
);
