/**
 * Okapi BM25 exactly as `rank_bm25.BM25Okapi` 0.2.2 (the version OPPU pins), so rankings match the paper:
 *
 *   idf(t)   = ln(N - n(t) + 0.5) - ln(n(t) + 0.5)           (n(t): documents containing t)
 *   idf(t)   = epsilon * mean(idf)   where idf(t) < 0          (the mean is over every term, before the floor)
 *   score(d) = sum over query tokens q (repeats count) of
 *              idf(q) * tf(q,d) * (k1 + 1) / (tf(q,d) + k1 * (1 - b + b * |d| / avgdl))
 *
 * Floating-point operations run in the same order as rank_bm25's numpy code, so scores are bit-identical.
 * `topN` orders like `np.argsort(scores)[::-1][:n]`: score descending, ties by the later document first
 * (numpy's sort is stable up to 16 elements; beyond that numpy leaves tie order unspecified, we keep this one).
 */
export interface Bm25Options {
  /** Term-frequency saturation; rank_bm25 default 1.5. */
  readonly k1?: number;
  /** Length normalisation; rank_bm25 default 0.75. */
  readonly b?: number;
  /** Floor for negative idf, as a fraction of the mean idf; rank_bm25 default 0.25. */
  readonly epsilon?: number;
}

export const OPPU_BM25: Required<Bm25Options> = Object.freeze({ k1: 1.5, b: 0.75, epsilon: 0.25 });

interface Posting {
  readonly doc: number;
  readonly tf: number;
}

export class Bm25 {
  readonly k1: number;
  readonly b: number;
  readonly epsilon: number;
  readonly corpusSize: number;
  readonly avgdl: number;
  readonly averageIdf: number;
  private readonly idf = new Map<string, number>();
  private readonly postings = new Map<string, Posting[]>();
  /** k1 * (1 - b + b * |d| / avgdl), per document. */
  private readonly lenNorm: Float64Array;

  constructor(corpus: readonly (readonly string[])[], options: Bm25Options = {}) {
    this.k1 = options.k1 ?? OPPU_BM25.k1;
    this.b = options.b ?? OPPU_BM25.b;
    this.epsilon = options.epsilon ?? OPPU_BM25.epsilon;
    this.corpusSize = corpus.length;

    // Document frequencies in first-seen order (Python dict order), so the idf sum adds in the same order.
    const nd = new Map<string, number>();
    let numTokens = 0;
    corpus.forEach((doc, d) => {
      numTokens += doc.length;
      const freqs = new Map<string, number>();
      for (const word of doc) freqs.set(word, (freqs.get(word) ?? 0) + 1);
      for (const [word, tf] of freqs) {
        nd.set(word, (nd.get(word) ?? 0) + 1);
        const list = this.postings.get(word);
        if (list) list.push({ doc: d, tf });
        else this.postings.set(word, [{ doc: d, tf }]);
      }
    });
    // rank_bm25 divides by zero on an empty corpus; an empty index simply scores nothing.
    this.avgdl = this.corpusSize > 0 ? numTokens / this.corpusSize : 0;

    let idfSum = 0;
    const negative: string[] = [];
    for (const [word, freq] of nd) {
      const idf = Math.log(this.corpusSize - freq + 0.5) - Math.log(freq + 0.5);
      this.idf.set(word, idf);
      idfSum += idf;
      if (idf < 0) negative.push(word);
    }
    this.averageIdf = nd.size > 0 ? idfSum / nd.size : 0;
    const eps = this.epsilon * this.averageIdf;
    for (const word of negative) this.idf.set(word, eps);

    this.lenNorm = new Float64Array(this.corpusSize);
    corpus.forEach((doc, d) => {
      this.lenNorm[d] = this.k1 * (1 - this.b + (this.b * doc.length) / this.avgdl);
    });
  }

  /** The idf of a term (0 for a term no document has). */
  idfOf(term: string): number {
    return this.idf.get(term) ?? 0;
  }

  /** Scores of every document for a tokenized query, in corpus order. */
  scores(query: readonly string[]): Float64Array {
    const score = new Float64Array(this.corpusSize);
    const k1p1 = this.k1 + 1;
    for (const q of query) {
      const list = this.postings.get(q);
      if (!list) continue;
      const idf = this.idf.get(q) ?? 0;
      for (const { doc, tf } of list) {
        score[doc] = (score[doc] as number) + idf * ((tf * k1p1) / (tf + (this.lenNorm[doc] as number)));
      }
    }
    return score;
  }

  /** Indices of the `n` best documents, in rank_bm25's `get_top_n` order. */
  topN(query: readonly string[], n: number): number[] {
    return rankDescending(this.scores(query), n);
  }
}

/** `np.argsort(scores)[::-1][:n]` with a stable argsort: score descending, ties by higher index first. */
export function rankDescending(scores: ArrayLike<number>, n: number): number[] {
  const len = scores.length;
  const keep = Math.max(0, Math.min(n, len));
  if (keep === 0) return [];
  if (keep * 8 >= len) {
    const order = Array.from({ length: len }, (_, i) => i);
    order.sort((a, b) => (scores[b] as number) - (scores[a] as number) || b - a);
    return order.slice(0, keep);
  }
  // bounded insertion: `top` stays sorted best first; scanning upwards, an equal score beats the earlier index
  const top: number[] = [];
  for (let i = 0; i < len; i++) {
    const s = scores[i] as number;
    if (top.length === keep && s < (scores[top[keep - 1] as number] as number)) continue;
    let at = top.length;
    while (at > 0 && s >= (scores[top[at - 1] as number] as number)) at--;
    if (at >= keep) continue;
    top.splice(at, 0, i);
    if (top.length > keep) top.pop();
  }
  return top;
}
