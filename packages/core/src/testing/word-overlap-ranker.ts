import type { TextRanker } from '../contracts/engine.js';

/**
 * A `TextRanker` for tests: documents by how many of the query's words they contain (case-insensitive), ties in
 * document order. BM25 (`@oppu/node`'s `createRanker`) is what the service uses in production.
 */
export const wordOverlapRanker: TextRanker = {
  topK(documents, query, k) {
    const q = new Set(query.toLowerCase().split(/\W+/).filter(Boolean));
    const hits = documents.map(
      (d) =>
        d
          .toLowerCase()
          .split(/\W+/)
          .filter((w) => q.has(w)).length,
    );
    return documents
      .map((_, i) => i)
      .sort((a, b) => hits[b]! - hits[a]! || a - b)
      .slice(0, Math.max(0, k));
  },
};
