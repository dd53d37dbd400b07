/**
 * ROUGE-1 and ROUGE-L F1 exactly as Google's `rouge_score` computes them with its defaults (no stemmer), which is
 * what LaMP's evaluation uses through HF `evaluate.load('rouge')`.
 *
 * Tokenizer (`rouge_score/tokenize.py`): lowercase; every run of characters outside [a-z0-9] becomes a
 * separator; empty tokens are dropped. So "Don't" -> ["don", "t"], "café" -> ["caf"], "COVID-19" -> ["covid", "19"].
 */

export interface RougeScore {
  readonly precision: number;
  readonly recall: number;
  readonly fmeasure: number;
}

const TOKEN = /[a-z0-9]+/g;

/** rouge_score's default tokenizer. */
export function rougeTokenize(text: string): string[] {
  return text.toLowerCase().match(TOKEN) ?? [];
}

/** rouge_score's `scoring.fmeasure`: harmonic mean, 0 when both are 0. */
function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/**
 * ROUGE-1: clipped unigram overlap. A word counts min(times in prediction, times in reference), so repeated words
 * count with multiplicity. Precision/recall divide by max(count, 1): an empty side scores 0.
 */
export function rouge1(reference: string, prediction: string): RougeScore {
  const ref = rougeTokenize(reference);
  const pred = rougeTokenize(prediction);
  const counts = new Map<string, number>();
  for (const t of ref) counts.set(t, (counts.get(t) ?? 0) + 1);
  let overlap = 0;
  for (const t of pred) {
    const c = counts.get(t);
    if (c) {
      overlap++;
      counts.set(t, c - 1);
    }
  }
  const precision = overlap / Math.max(pred.length, 1);
  const recall = overlap / Math.max(ref.length, 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** Length of the longest common subsequence of two token lists (two-row dynamic programme). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = ai === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** ROUGE-L: LCS-based; 0 when either side has no tokens. */
export function rougeL(reference: string, prediction: string): RougeScore {
  const ref = rougeTokenize(reference);
  const pred = rougeTokenize(prediction);
  if (ref.length === 0 || pred.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsLength(ref, pred);
  const precision = lcs / pred.length;
  const recall = lcs / ref.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}
