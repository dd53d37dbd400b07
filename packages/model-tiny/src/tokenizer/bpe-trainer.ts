import { BYTE_TO_CHAR, preTokenize } from './byte-level.js';
import { MaxHeap } from './max-heap.js';

export interface BpeTrainerOptions {
  /** Total vocabulary size, special tokens and the 256 byte tokens included. */
  readonly vocabSize: number;
  /** Special tokens, given ids 0..n-1 in this order (e.g. `<unk>`, `<s>`, `</s>`, `<pad>`). */
  readonly specialTokens: readonly string[];
  /** A pair must occur at least this often (counted over the corpus) to be merged. Default 2. */
  readonly minFrequency?: number;
  readonly onProgress?: (merges: number, total: number) => void;
}

export interface BpeVocabulary {
  /** Token string (byte-level alphabet) -> id; special tokens first, then the 256 bytes, then merges in order. */
  readonly vocab: Map<string, number>;
  /** Merges in rank order, each as the two token strings it joins. */
  readonly merges: Array<[string, string]>;
}

/** Counts pre-tokens (GPT-2 split) over texts; the result is what `trainBpe` learns from. */
export function countWords(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const word of preTokenize(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

const KEY = 65536; // pair (a, b) is stored as a * KEY + b; ids stay below 65536.

/**
 * Byte-level BPE training (Sennrich et al. 2016, as in GPT-2 / HF tokenizers' BpeTrainer):
 * every distinct word starts as its UTF-8 bytes; repeatedly the most frequent adjacent pair (ties: the pair with
 * the smaller ids) is merged into a new token until `vocabSize` is reached or no pair occurs `minFrequency` times.
 *
 * Pair counts are kept incrementally: merging a pair only rescans the words that contain it (an inverted index
 * from pair to words), and a lazy max-heap picks the next pair. Deterministic: same input, same vocabulary.
 */
export function trainBpe(wordCounts: Map<string, number>, options: BpeTrainerOptions): BpeVocabulary {
  const { vocabSize, specialTokens } = options;
  const minFrequency = options.minFrequency ?? 2;
  const base = specialTokens.length + 256;
  if (vocabSize < base) {
    throw new Error(
      `trainBpe: vocabSize ${vocabSize} is below ${base} (special tokens + 256 bytes); raise it`,
    );
  }
  if (vocabSize > KEY) throw new Error(`trainBpe: vocabSize ${vocabSize} is above ${KEY}; lower it`);

  // Token strings by id: specials, then bytes 0..255, then one per merge.
  const tokens: string[] = [...specialTokens, ...BYTE_TO_CHAR];
  const idOf = new Map<string, number>();
  tokens.forEach((t, id) => {
    idOf.set(t, id);
  });
  const encoder = new TextEncoder();
  const entries = [...wordCounts.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [word, freq] of entries) {
    words.push(Array.from(encoder.encode(word), (b) => b + specialTokens.length));
    freqs.push(freq);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (w: number, sign: number, delta: Map<number, number> | undefined) => {
    const sym = words[w]!;
    const f = freqs[w]! * sign;
    for (let i = 0; i + 1 < sym.length; i++) {
      const key = sym[i]! * KEY + sym[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + f);
      if (delta) delta.set(key, (delta.get(key) ?? 0) + f);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) {
          set = new Set();
          pairWords.set(key, set);
        }
        set.add(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1, undefined);

  const heap = new MaxHeap();
  for (const [key, count] of pairCount) heap.push(count, key);

  const merges: Array<[string, string]> = [];
  const total = vocabSize - base;
  while (tokens.length < vocabSize) {
    const top = heap.pop();
    if (top === undefined) break;
    const live = pairCount.get(top.key) ?? 0;
    if (live !== top.count) {
      // Stale entry: the count changed since it was pushed; the live count has its own entry.
      continue;
    }
    if (live < minFrequency) break;
    const a = Math.floor(top.key / KEY);
    const b = top.key % KEY;
    // Two different merges can spell the same string ("ab"+"c", "a"+"bc"): they share one id, as in HF.
    const spelled = tokens[a]! + tokens[b]!;
    let merged = idOf.get(spelled);
    if (merged === undefined) {
      merged = tokens.length;
      tokens.push(spelled);
      idOf.set(spelled, merged);
    }
    merges.push([tokens[a]!, tokens[b]!]);

    const delta = new Map<number, number>();
    for (const w of pairWords.get(top.key) ?? []) {
      const sym = words[w]!;
      let found = false;
      for (let i = 0; i + 1 < sym.length; i++) {
        if (sym[i] === a && sym[i + 1] === b) {
          found = true;
          break;
        }
      }
      if (!found) continue; // stale index entry: an earlier merge consumed the pair in this word
      addPairs(w, -1, delta);
      const out: number[] = [];
      for (let i = 0; i < sym.length; i++) {
        if (i + 1 < sym.length && sym[i] === a && sym[i + 1] === b) {
          out.push(merged);
          i += 1;
        } else out.push(sym[i]!);
      }
      words[w] = out;
      addPairs(w, 1, delta);
    }
    pairWords.delete(top.key);
    pairCount.delete(top.key);
    for (const [key, d] of delta) {
      if (d === 0 || key === top.key) continue;
      const count = pairCount.get(key) ?? 0;
      if (count <= 0) pairCount.delete(key);
      else heap.push(count, key);
    }
    options.onProgress?.(merges.length, total);
  }

  return { vocab: idOf, merges };
}
