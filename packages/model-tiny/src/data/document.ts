/** One document of the pretraining corpus: the unit that the train/validation/test split assigns. */
export interface CorpusDocument {
  /** Which corpus it came from, e.g. `brown`, `wordnet`, `sotu`, `moby-dick`. */
  readonly source: CorpusSource;
  /** Stable id inside its source (a file name or a chunk number); `source/id` is unique. */
  readonly id: string;
  /** Normalised text (see `normalizeText`). */
  readonly text: string;
}

export type CorpusSource = 'brown' | 'wordnet' | 'sotu' | 'moby-dick';

export type Split = 'train' | 'validation' | 'test';
