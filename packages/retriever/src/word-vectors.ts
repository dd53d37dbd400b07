import { readFileSync } from 'node:fs';
import { OppuError } from '@oppu/core';

/**
 * Word vectors in the package's own compact format (`.oppuwv`), int8-quantised with one float32 scale per word:
 *
 *   "OPPUWV01"  | uint32 LE header length | header JSON (utf-8) | zero padding to 4 bytes
 *   float32 LE scales [vocab]             | int8 values [vocab, dim]   (value * scale = component)
 */
export interface WordVectorsHeader {
  readonly format: 'oppuwv';
  readonly version: 1;
  readonly dim: number;
  readonly words: readonly string[];
  /** Training-corpus count of each word (for SIF weights and as a general-English background). */
  readonly counts: readonly number[];
  readonly totalCount: number;
  /** SIF smoothing `a` (Arora et al. 2017). */
  readonly sifA: number;
  /** The common component removed from every text vector (first singular vector of training texts), unit length. */
  readonly commonComponent: readonly number[];
  /** How the vectors were made: corpora with versions and licences, seed, settings. */
  readonly meta: Readonly<Record<string, unknown>>;
}

const MAGIC = 'OPPUWV01';

export class WordVectors {
  readonly header: WordVectorsHeader;
  readonly dim: number;
  private readonly index = new Map<string, number>();
  /** [vocab, dim], de-quantised on load. */
  private readonly matrix: Float32Array;

  constructor(header: WordVectorsHeader, matrix: Float32Array) {
    if (matrix.length !== header.words.length * header.dim) {
      throw new OppuError(
        'word_vectors',
        `word vectors: matrix has ${matrix.length} values, header says ${header.words.length} x ${header.dim}`,
      );
    }
    this.header = header;
    this.dim = header.dim;
    this.matrix = matrix;
    header.words.forEach((w, i) => {
      this.index.set(w, i);
    });
  }

  get size(): number {
    return this.header.words.length;
  }

  /** Row index of a word, or undefined if out of vocabulary. */
  indexOf(word: string): number | undefined {
    return this.index.get(word);
  }

  /** A view of the word's vector (do not modify). */
  row(i: number): Float32Array {
    return this.matrix.subarray(i * this.dim, (i + 1) * this.dim);
  }

  /** Unigram probability of a word in the training corpora. */
  probability(i: number): number {
    return (this.header.counts[i] as number) / this.header.totalCount;
  }

  encode(): Uint8Array {
    const { dim } = this;
    const vocab = this.size;
    const head = Buffer.from(JSON.stringify(this.header), 'utf8');
    const pre = 8 + 4 + head.length;
    const pad = (4 - (pre % 4)) % 4;
    const out = Buffer.alloc(pre + pad + vocab * 4 + vocab * dim);
    out.write(MAGIC, 0, 'latin1');
    out.writeUInt32LE(head.length, 8);
    head.copy(out, 12);
    const scales = new Float32Array(out.buffer, out.byteOffset + pre + pad, vocab);
    const values = new Int8Array(out.buffer, out.byteOffset + pre + pad + vocab * 4, vocab * dim);
    for (let w = 0; w < vocab; w++) {
      const row = this.row(w);
      let max = 0;
      for (let d = 0; d < dim; d++) max = Math.max(max, Math.abs(row[d] as number));
      const scale = max > 0 ? max / 127 : 1;
      scales[w] = scale;
      for (let d = 0; d < dim; d++) values[w * dim + d] = Math.round((row[d] as number) / scale);
    }
    return out;
  }

  static decode(bytes: Uint8Array, where = 'word vectors'): WordVectors {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) {
      throw new OppuError(
        'word_vectors',
        `${where}: not an .oppuwv file (bad magic); re-run train-embeddings`,
      );
    }
    const headLen = buf.readUInt32LE(8);
    let header: WordVectorsHeader;
    try {
      header = JSON.parse(buf.toString('utf8', 12, 12 + headLen)) as WordVectorsHeader;
    } catch (error) {
      throw new OppuError('word_vectors', `${where}: header is not JSON (${(error as Error).message})`, {
        cause: error,
      });
    }
    const pre = 12 + headLen;
    const pad = (4 - (pre % 4)) % 4;
    const vocab = header.words.length;
    const need = pre + pad + vocab * 4 + vocab * header.dim;
    if (buf.length !== need) {
      throw new OppuError(
        'word_vectors',
        `${where}: ${buf.length} bytes, expected ${need}; the file is truncated or damaged`,
      );
    }
    const aligned = new Uint8Array(buf.length - pre - pad);
    aligned.set(buf.subarray(pre + pad));
    const scales = new Float32Array(aligned.buffer, 0, vocab);
    const values = new Int8Array(aligned.buffer, vocab * 4, vocab * header.dim);
    const matrix = new Float32Array(vocab * header.dim);
    for (let w = 0; w < vocab; w++) {
      const s = scales[w] as number;
      for (let d = 0; d < header.dim; d++)
        matrix[w * header.dim + d] = (values[w * header.dim + d] as number) * s;
    }
    return new WordVectors(header, matrix);
  }

  static load(path: string | URL): WordVectors {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      throw new OppuError(
        'word_vectors',
        `${String(path)}: cannot read word vectors (${(error as Error).message})`,
        {
          cause: error,
        },
      );
    }
    return WordVectors.decode(bytes, String(path));
  }
}

const EMBED_WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

/** The tokens word vectors are trained and looked up with: lower-cased Unicode words, apostrophes kept inside. */
export function embeddingTokens(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(EMBED_WORD)) out.push(m[0].replace(/’/g, "'"));
  return out;
}

/** The vectors shipped with the package (trained by `pnpm --filter @oppu/retriever train-embeddings`). */
export const DEFAULT_WORD_VECTORS_URL = new URL('../assets/word-vectors.oppuwv', import.meta.url);

let cached: WordVectors | undefined;
export function defaultWordVectors(): WordVectors {
  cached ??= WordVectors.load(DEFAULT_WORD_VECTORS_URL);
  return cached;
}
