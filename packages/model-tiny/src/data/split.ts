import { createHash } from 'node:crypto';
import type { CorpusDocument, Split } from './document.js';

/** Fractions of documents held out; the rest is `train`. */
export interface SplitFractions {
  readonly validation: number;
  readonly test: number;
}

export const DEFAULT_SPLIT: SplitFractions = { validation: 0.02, test: 0.03 };

/**
 * Deterministic split by document: SHA-256 of `source/id` read as a number in [0, 1). The same document lands
 * in the same split on every machine and every run, whatever else is added to the corpus.
 */
export function splitOf(doc: Pick<CorpusDocument, 'source' | 'id'>, fractions = DEFAULT_SPLIT): Split {
  const digest = createHash('sha256').update(`${doc.source}/${doc.id}`).digest();
  const u = digest.readUInt32BE(0) / 2 ** 32;
  if (u < fractions.test) return 'test';
  if (u < fractions.test + fractions.validation) return 'validation';
  return 'train';
}
