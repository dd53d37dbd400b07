import type { TextRanker } from '@oppu/core';
import { Bm25, oppuTokenizer, type Tokenizer } from '@oppu/retriever';

/**
 * OPPU's retrieval as a `TextRanker`: `BM25Okapi(corpus).get_top_n(query, corpus, n=k)` over the user's own
 * history lines, tokenised with `split(" ")` (pass another tokenizer for better retrieval).
 */
export function bm25Ranker(tokenizer: Tokenizer = oppuTokenizer): TextRanker {
  return {
    topK(documents, query, k) {
      if (documents.length === 0 || k <= 0) return [];
      return new Bm25(documents.map(tokenizer)).topN(tokenizer(query), Math.min(k, documents.length));
    },
  };
}
