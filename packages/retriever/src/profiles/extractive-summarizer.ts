import {
  type HistoryItem,
  OppuError,
  type ProfileSummarizer,
  type UserId,
  type UserProfile,
  userId,
} from '@oppu/core';
import { wordTokenizer } from '../tokenizers.js';
import { PopulationStats } from './population.js';

export interface ExtractiveSummarizerOptions {
  /** Fields holding labels (LaMP-2 `tag`, `category`); default `['tag', 'category', 'label']` where present. */
  readonly labelFields?: readonly string[];
  /** Field holding a numeric rating (LaMP-3 `score`); default `score`. */
  readonly ratingField?: string;
  /** Fields whose words and style are described; default every other string field but id and date. */
  readonly textFields?: readonly string[];
  /** Background the user's words and ratings are compared with; default general English (no rating mean). */
  readonly population?: PopulationStats;
  /** Dirichlet prior strength for the log-odds (Monroe, Colaresi, Quinn 2008); default 500. */
  readonly priorStrength?: number;
  readonly topWords?: number;
  readonly topLabels?: number;
  /** Clock for `updatedAt` (tests). */
  readonly now?: () => Date;
}

/** Everything the profile is computed from; kept in `features.state` so updates need only the new items. */
interface State {
  items: number;
  labels: Record<string, Record<string, number>>;
  ratingSum: number;
  ratingCount: number;
  ratings: Record<string, number>;
  words: Record<string, number>;
  totalWords: number;
  textItems: number;
  lengthWords: number;
  lowerStart: number;
  upperStart: number;
  allCapsWords: number;
  punctuation: Record<string, number>;
  firstWords: Record<string, number>;
}

const PUNCT: Record<string, RegExp> = {
  '!': /!/,
  '?': /\?/,
  ':': /:/,
  '"': /["“”]/,
  '#': /#\w/,
  '@': /@\w/,
  '...': /\.\.\.|…/,
};
const contentWords = wordTokenizer({ minLength: 3 });

function emptyState(): State {
  return {
    items: 0,
    labels: {},
    ratingSum: 0,
    ratingCount: 0,
    ratings: {},
    words: {},
    totalWords: 0,
    textItems: 0,
    lengthWords: 0,
    lowerStart: 0,
    upperStart: 0,
    allCapsWords: 0,
    punctuation: {},
    firstWords: {},
  };
}

const inc = (o: Record<string, number>, k: string, by = 1) => {
  o[k] = (o[k] ?? 0) + by;
};
const top = (o: Record<string, number>, n: number) =>
  Object.entries(o)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n);
const pct = (x: number, n: number) => `${Math.round((100 * x) / Math.max(n, 1))}%`;

/**
 * A profile without a model: the user's frequent labels, rating tendency against the population, characteristic
 * words (log-odds with an informative Dirichlet prior against the population), and style (length, casing,
 * first words, punctuation). Incremental: `update` folds in new items from the counts kept in the profile.
 */
export class ExtractiveProfileSummarizer implements ProfileSummarizer {
  private readonly options: ExtractiveSummarizerOptions;
  private population: PopulationStats | undefined;

  constructor(options: ExtractiveSummarizerOptions = {}) {
    this.options = options;
    this.population = options.population;
  }

  async summarize(
    user: UserId,
    items: readonly HistoryItem[],
    task: string,
    signal?: AbortSignal,
  ): Promise<UserProfile> {
    signal?.throwIfAborted();
    const empty: UserProfile = {
      userId: userId(user),
      text: '',
      itemCount: 0,
      updatedAt: '',
      features: { state: emptyState() },
    };
    return this.update(empty, items, task);
  }

  async update(profile: UserProfile, newItems: readonly HistoryItem[], _task: string): Promise<UserProfile> {
    const prior =
      (profile.features?.state as State | undefined) ?? (profile.itemCount === 0 ? emptyState() : undefined);
    if (!prior) {
      throw new OppuError(
        'profile_update',
        `profile of ${profile.userId}: it has no extractive counts (features.state), so it cannot be updated; summarize the full history instead`,
      );
    }
    const s: State = structuredClone(prior);
    const labelFields = this.options.labelFields ?? ['tag', 'category', 'label'];
    const ratingField = this.options.ratingField ?? 'score';
    for (const item of newItems) {
      s.items++;
      for (const f of labelFields) {
        const v = item[f];
        if (typeof v === 'string' && v.length > 0) {
          s.labels[f] ??= {};
          inc(s.labels[f], v);
        }
      }
      const rating = item[ratingField];
      if (typeof rating === 'string' && rating.trim() !== '' && Number.isFinite(Number(rating))) {
        s.ratingSum += Number(rating);
        s.ratingCount++;
        inc(s.ratings, String(Number(rating)));
      }
      const textFields =
        this.options.textFields ??
        Object.keys(item).filter(
          (k) => k !== 'id' && k !== 'date' && k !== ratingField && !labelFields.includes(k),
        );
      for (const f of textFields) {
        const text = item[f];
        if (typeof text !== 'string' || text.trim() === '') continue;
        s.textItems++;
        const raw = text.trim().split(/\s+/);
        s.lengthWords += raw.length;
        const first = raw[0] as string;
        if (/^\p{Ll}/u.test(first)) s.lowerStart++;
        else if (/^\p{Lu}/u.test(first)) s.upperStart++;
        inc(s.firstWords, first.toLowerCase().replace(/[^\p{L}\p{N}'#@]/gu, ''));
        s.allCapsWords += raw.filter((w) => w.length > 1 && /^\p{Lu}+$/u.test(w)).length;
        for (const [mark, re] of Object.entries(PUNCT)) if (re.test(text)) inc(s.punctuation, mark);
        for (const w of contentWords(text)) {
          if (/^\d+$/.test(w)) continue;
          inc(s.words, w);
          s.totalWords++;
        }
      }
    }
    delete s.firstWords[''];
    return this.render(userId(profile.userId, 'profile.userId'), s);
  }

  private background(): PopulationStats {
    this.population ??= PopulationStats.generalEnglish();
    return this.population;
  }

  /** Words most over-represented in the user's text against the population (z-scored log-odds ratio). */
  private characteristicWords(s: State): { word: string; z: number; count: number }[] {
    const bg = this.background();
    const a0 = this.options.priorStrength ?? 500;
    const out: { word: string; z: number; count: number }[] = [];
    const vocab = Math.max(bg.wordCounts.size, 1);
    for (const [word, y] of Object.entries(s.words)) {
      if (y < 2) continue;
      const b = bg.wordCounts.get(word) ?? 0;
      // informative prior: the population's distribution, smoothed so unseen words get a little mass
      const alpha = (a0 * (b + 0.5)) / (bg.totalWords + 0.5 * vocab);
      const delta =
        Math.log((y + alpha) / (s.totalWords + a0 - y - alpha)) -
        Math.log((b + alpha) / (bg.totalWords + a0 - b - alpha));
      const z = delta / Math.sqrt(1 / (y + alpha) + 1 / (b + alpha));
      if (z > 1.96) out.push({ word, z, count: y });
    }
    return out.sort((p, q) => q.z - p.z || (p.word < q.word ? -1 : 1)).slice(0, this.options.topWords ?? 8);
  }

  private render(user: UserId, s: State): UserProfile {
    const parts: string[] = [];
    const labels: Record<string, [string, number][]> = {};
    for (const [field, counts] of Object.entries(s.labels)) {
      const best = top(counts, this.options.topLabels ?? 3);
      labels[field] = best;
      parts.push(`Most frequent ${field}: ${best.map(([l, n]) => `${l} (${n})`).join(', ')}.`);
    }
    let rating: Record<string, unknown> | undefined;
    if (s.ratingCount > 0) {
      const mean = s.ratingSum / s.ratingCount;
      const popMean = this.options.population?.ratingMean;
      const mode = top(s.ratings, 1)[0]?.[0];
      rating = {
        mean,
        count: s.ratingCount,
        mostCommon: mode,
        populationMean: popMean,
        bias: popMean === undefined ? undefined : mean - popMean,
      };
      const vs =
        popMean === undefined
          ? ''
          : ` (population ${popMean.toFixed(2)}: ${mean >= popMean ? 'rates higher' : 'rates lower'} by ${Math.abs(mean - popMean).toFixed(2)})`;
      parts.push(`Ratings: mean ${mean.toFixed(2)}${vs}, most often ${mode}.`);
    }
    const words = this.characteristicWords(s);
    if (words.length > 0) parts.push(`Characteristic words: ${words.map((w) => w.word).join(', ')}.`);
    let style: Record<string, unknown> | undefined;
    if (s.textItems > 0) {
      const avg = s.lengthWords / s.textItems;
      const firsts = top(s.firstWords, 3).filter(([, n]) => n >= Math.max(2, 0.1 * s.textItems));
      const marks = top(s.punctuation, 3).filter(([, n]) => n >= Math.max(2, 0.2 * s.textItems));
      style = {
        meanWords: avg,
        lowercaseStart: s.lowerStart / s.textItems,
        uppercaseStart: s.upperStart / s.textItems,
        allCapsWordsPerText: s.allCapsWords / s.textItems,
        frequentFirstWords: firsts,
        punctuation: Object.fromEntries(Object.entries(s.punctuation).map(([k, n]) => [k, n / s.textItems])),
      };
      const bits = [`about ${Math.round(avg)} words per text`];
      if (s.lowerStart / s.textItems >= 0.5)
        bits.push(`starts in lower case ${pct(s.lowerStart, s.textItems)} of the time`);
      if (s.allCapsWords / s.textItems >= 0.5) bits.push('often writes words in CAPITALS');
      if (firsts.length > 0)
        bits.push(
          `often begins with ${firsts.map(([w, n]) => `"${w}" (${pct(n, s.textItems)})`).join(', ')}`,
        );
      if (marks.length > 0)
        bits.push(`uses ${marks.map(([m, n]) => `"${m}" in ${pct(n, s.textItems)}`).join(', ')}`);
      parts.push(`Style: ${bits.join('; ')}.`);
    }
    return {
      userId: user,
      text: parts.join(' '),
      itemCount: s.items,
      updatedAt: (this.options.now?.() ?? new Date()).toISOString(),
      features: { labels, rating, characteristicWords: words, style, state: s },
    };
  }
}

/** Tokens of the extractive summarizer's population statistics: use with `PopulationStats.fromItems`. */
export const profileTokens = (text: string) => contentWords(text);
