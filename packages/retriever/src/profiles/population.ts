import type { HistoryItem } from '@oppu/core';
import { defaultWordVectors } from '../word-vectors.js';

/** Word, label and rating statistics of a population, the background a user's profile is contrasted with. */
export class PopulationStats {
  readonly wordCounts: Map<string, number>;
  totalWords: number;
  readonly labelCounts: Map<string, number>;
  ratingSum = 0;
  ratingCount = 0;

  constructor(
    wordCounts = new Map<string, number>(),
    totalWords = 0,
    labelCounts = new Map<string, number>(),
  ) {
    this.wordCounts = wordCounts;
    this.totalWords = totalWords;
    this.labelCounts = labelCounts;
  }

  get ratingMean(): number | undefined {
    return this.ratingCount > 0 ? this.ratingSum / this.ratingCount : undefined;
  }

  /** Counts words of `textFields`, labels of `labelFields` and numeric `ratingField` values over many users' items. */
  static fromItems(
    items: Iterable<HistoryItem>,
    options: {
      textFields?: readonly string[];
      labelFields?: readonly string[];
      ratingField?: string;
      tokenize: (t: string) => string[];
    },
  ): PopulationStats {
    const p = new PopulationStats();
    for (const item of items) {
      for (const [k, v] of Object.entries(item)) {
        if (typeof v !== 'string' || k === 'id' || k === 'date') continue;
        if (options.labelFields?.includes(k)) p.labelCounts.set(v, (p.labelCounts.get(v) ?? 0) + 1);
        else if (k === options.ratingField) {
          const r = Number(v);
          if (Number.isFinite(r)) {
            p.ratingSum += r;
            p.ratingCount++;
          }
        } else if (!options.textFields || options.textFields.includes(k)) {
          for (const w of options.tokenize(v)) {
            p.wordCounts.set(w, (p.wordCounts.get(w) ?? 0) + 1);
            p.totalWords++;
          }
        }
      }
    }
    return p;
  }

  /** General English: the word counts the package's word vectors were trained on (no labels, no ratings). */
  static generalEnglish(): PopulationStats {
    const h = defaultWordVectors().header;
    return new PopulationStats(new Map(h.words.map((w, i) => [w, h.counts[i] as number])), h.totalCount);
  }
}
