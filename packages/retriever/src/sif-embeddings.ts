import { Embeddings, type EmbeddingsParams } from '@langchain/core/embeddings';
import { defaultWordVectors, embeddingTokens, type WordVectors } from './word-vectors.js';

export interface SifEmbeddingsParams extends EmbeddingsParams {
  /** Word vectors; default: the ones shipped in the package. */
  readonly vectors?: WordVectors;
  /** SIF smoothing; default: the value the vectors were trained with (1e-3). */
  readonly a?: number;
  /** Remove the common component (Arora et al.'s step 2); default true. */
  readonly removeCommonComponent?: boolean;
}

/**
 * Text embeddings with no model download: the SIF-weighted mean of word vectors (Arora, Liang, Ma 2017, "A Simple
 * but Tough-to-Beat Baseline for Sentence Embeddings"): each word weighs a / (a + p(w)), then the projection on
 * the training texts' first singular vector is removed. A LangChain `Embeddings`, so any other model can replace it.
 * A text with no known word embeds to a fixed unit vector (cosine search needs a direction).
 */
export class SifEmbeddings extends Embeddings {
  readonly vectors: WordVectors;
  readonly a: number;
  readonly removeCommonComponent: boolean;
  /** Names the model; stored with vector indexes so one built by another embedder is not reused. */
  readonly modelId: string;

  constructor(params: SifEmbeddingsParams = {}) {
    super(params);
    this.vectors = params.vectors ?? defaultWordVectors();
    this.a = params.a ?? this.vectors.header.sifA;
    this.removeCommonComponent = params.removeCommonComponent ?? true;
    const h = this.vectors.header;
    this.modelId = `oppu-sif:${String(h.meta.id ?? 'custom')}:${h.words.length}x${h.dim}:a=${this.a}:cc=${this.removeCommonComponent}`;
  }

  get dim(): number {
    return this.vectors.dim;
  }

  /** Synchronous embedding of one text. */
  embedText(text: string): number[] {
    const { vectors, dim } = this;
    const sum = new Float64Array(dim);
    let n = 0;
    for (const token of embeddingTokens(text)) {
      const i = vectors.indexOf(token);
      if (i === undefined) continue;
      const weight = this.a / (this.a + vectors.probability(i));
      const row = vectors.row(i);
      for (let d = 0; d < dim; d++) sum[d] = (sum[d] as number) + weight * (row[d] as number);
      n++;
    }
    if (n === 0) {
      const out = new Array<number>(dim).fill(0);
      out[0] = 1;
      return out;
    }
    if (this.removeCommonComponent) {
      const u = vectors.header.commonComponent;
      let proj = 0;
      for (let d = 0; d < dim; d++) proj += (sum[d] as number) * (u[d] as number);
      for (let d = 0; d < dim; d++) sum[d] = (sum[d] as number) - proj * (u[d] as number);
    }
    return Array.from(sum, (x) => x / n);
  }

  async embedDocuments(documents: string[]): Promise<number[][]> {
    return documents.map((d) => this.embedText(d));
  }

  async embedQuery(document: string): Promise<number[]> {
    return this.embedText(document);
  }
}
