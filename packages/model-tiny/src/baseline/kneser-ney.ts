/**
 * Interpolated Kneser-Ney trigram over token ids (Kneser & Ney 1995; the interpolated form of Chen & Goodman
 * 1998, one absolute discount per order, D = n1 / (n1 + 2 n2)):
 *
 *   P3(w | u v) = max(c(uvw) - D3, 0) / c(uv.) + D3 N1+(uv.) / c(uv.) * P2(w | v)     (P2 if c(uv.) = 0)
 *   P2(w | v)   = max(N1+(.vw) - D2, 0) / N1+(.v.) + D2 N1+(v.) / N1+(.v.) * P1(w)    (P1 if N1+(.v.) = 0)
 *   P1(w)       = max(N1+(.w) - D1, 0) / N1+(..) + D1 N1+(.) / N1+(..) * 1/V
 *
 * where the lower orders count continuations (how many distinct tokens precede) rather than occurrences, and
 * the unigram level is interpolated with the uniform distribution so no token has probability 0.
 *
 * Counts are kept as sorted typed arrays (n-grams packed into one number, looked up by binary search), which is
 * compact and fast enough for a few million tokens.
 */
export class KneserNeyTrigram {
  readonly vocabSize: number;
  readonly discounts: { readonly d1: number; readonly d2: number; readonly d3: number };
  // Trigram types: key (u*V + v)*V + w, count.
  private readonly triKeys: Float64Array;
  private readonly triCounts: Float64Array;
  // Trigram contexts uv: key u*V + v, total count c(uv.), number of types N1+(uv.).
  private readonly ctxKeys: Float64Array;
  private readonly ctxTotal: Float64Array;
  private readonly ctxTypes: Float64Array;
  // Bigram types vw (from trigram types): key v*V + w, continuation count N1+(.vw).
  private readonly biKeys: Float64Array;
  private readonly biCont: Float64Array;
  // Per v: N1+(.v.) = sum_w N1+(.vw), and N1+(v.) = number of w with N1+(.vw) > 0.
  private readonly vContTotal: Float64Array;
  private readonly vTypes: Float64Array;
  // Per w: N1+(.w) over bigram types; and N1+(..), N1+(.).
  private readonly uniCont: Float64Array;
  private readonly uniTotal: number;
  private readonly uniTypes: number;

  /** Counts every trigram of `tokens` (one stream; documents joined with their `<s>`/`</s>` markers). */
  constructor(tokens: ArrayLike<number>, vocabSize: number) {
    const V = vocabSize;
    this.vocabSize = V;
    const n = tokens.length;
    if (n < 3) throw new Error(`KneserNeyTrigram: needs at least 3 tokens to count trigrams, got ${n}`);
    for (let i = 0; i < n; i++) {
      const t = tokens[i]!;
      if (!(t >= 0 && t < V))
        throw new Error(`KneserNeyTrigram: token ${t} at position ${i} is outside [0, ${V})`);
    }

    const raw = new Float64Array(n - 2);
    for (let i = 0; i + 2 < n; i++) raw[i] = (tokens[i]! * V + tokens[i + 1]!) * V + tokens[i + 2]!;
    raw.sort();
    [this.triKeys, this.triCounts] = runLength(raw);

    // Contexts uv: trigram keys are sorted, so all w of one uv are contiguous.
    {
      const keys: number[] = [];
      const total: number[] = [];
      const types: number[] = [];
      for (let i = 0; i < this.triKeys.length; i++) {
        const ctx = Math.floor(this.triKeys[i]! / V);
        if (keys.length === 0 || keys[keys.length - 1] !== ctx) {
          keys.push(ctx);
          total.push(0);
          types.push(0);
        }
        total[total.length - 1]! += this.triCounts[i]!;
        types[types.length - 1]! += 1;
      }
      this.ctxKeys = Float64Array.from(keys);
      this.ctxTotal = Float64Array.from(total);
      this.ctxTypes = Float64Array.from(types);
    }

    // Continuation counts of bigrams vw: how many distinct u precede them.
    {
      const vw = new Float64Array(this.triKeys.length);
      for (let i = 0; i < vw.length; i++) vw[i] = this.triKeys[i]! % (V * V);
      vw.sort();
      [this.biKeys, this.biCont] = runLength(vw);
    }
    this.vContTotal = new Float64Array(V);
    this.vTypes = new Float64Array(V);
    this.uniCont = new Float64Array(V);
    for (let i = 0; i < this.biKeys.length; i++) {
      const v = Math.floor(this.biKeys[i]! / V);
      const w = this.biKeys[i]! % V;
      this.vContTotal[v]! += this.biCont[i]!;
      this.vTypes[v]! += 1;
      this.uniCont[w]! += 1;
    }
    this.uniTotal = this.biKeys.length;
    this.uniTypes = this.uniCont.reduce((s, c) => s + (c > 0 ? 1 : 0), 0);

    const d3 = discount(this.triCounts);
    const d2 = discount(this.biCont);
    const d1 = discount(this.uniCont);
    this.discounts = { d1, d2, d3 };
  }

  /** P1(w): continuation unigram interpolated with uniform. */
  unigram(w: number): number {
    const { d1 } = this.discounts;
    return (Math.max(this.uniCont[w]! - d1, 0) + (d1 * this.uniTypes) / this.vocabSize) / this.uniTotal;
  }

  /** P2(w | v). */
  bigram(v: number, w: number): number {
    const denom = this.vContTotal[v]!;
    const p1 = this.unigram(w);
    if (denom === 0) return p1;
    const { d2 } = this.discounts;
    const i = search(this.biKeys, v * this.vocabSize + w);
    const cont = i >= 0 ? this.biCont[i]! : 0;
    return (Math.max(cont - d2, 0) + d2 * this.vTypes[v]! * p1) / denom;
  }

  /** P3(w | u v). */
  trigram(u: number, v: number, w: number): number {
    const V = this.vocabSize;
    const p2 = this.bigram(v, w);
    const c = search(this.ctxKeys, u * V + v);
    if (c < 0) return p2;
    const { d3 } = this.discounts;
    const i = search(this.triKeys, (u * V + v) * V + w);
    const count = i >= 0 ? this.triCounts[i]! : 0;
    return (Math.max(count - d3, 0) + d3 * this.ctxTypes[c]! * p2) / this.ctxTotal[c]!;
  }

  /**
   * Mean negative log-likelihood (nats per token) of `tokens[from..]`, each token given the two before it
   * (the bigram for position 1). Perplexity is `Math.exp` of it.
   */
  crossEntropy(tokens: ArrayLike<number>, from = 1): number {
    let nll = 0;
    let count = 0;
    for (let i = Math.max(from, 1); i < tokens.length; i++) {
      const p =
        i >= 2
          ? this.trigram(tokens[i - 2]!, tokens[i - 1]!, tokens[i]!)
          : this.bigram(tokens[0]!, tokens[1]!);
      nll -= Math.log(p);
      count += 1;
    }
    return nll / count;
  }
}

/** Sorted keys -> (unique keys, how often each occurs). */
function runLength(sorted: Float64Array): [Float64Array, Float64Array] {
  const keys: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const k = sorted[i]!;
    if (keys.length > 0 && keys[keys.length - 1] === k) counts[counts.length - 1]! += 1;
    else {
      keys.push(k);
      counts.push(1);
    }
  }
  return [Float64Array.from(keys), Float64Array.from(counts)];
}

/** Index of `key` in the sorted array, or -1. */
function search(sorted: Float64Array, key: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const k = sorted[mid]!;
    if (k === key) return mid;
    if (k < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Ney's absolute discount D = n1 / (n1 + 2 n2) from the counts of count 1 and 2 (0.5 when undefined). */
function discount(counts: ArrayLike<number>): number {
  let n1 = 0;
  let n2 = 0;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] === 1) n1 += 1;
    else if (counts[i] === 2) n2 += 1;
  }
  return n1 + n2 === 0 ? 0.5 : n1 / (n1 + 2 * n2);
}
