import { createRng } from '../train/rng.js';

/** How the next token is chosen. Greedy when temperature is 0, or when none of the three is set. */
export interface SamplingParams {
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
}

export function isGreedy(p: SamplingParams): boolean {
  return p.temperature === 0 || (p.temperature === undefined && p.topK === undefined && p.topP === undefined);
}

/** A uniform [0, 1) source from a seed (xoroshiro128+ via pure-rand, as the trainer's data order). */
export function seededRandom(seed: number): () => number {
  const rng = createRng(seed);
  // Two draws give 60 random bits; plenty for a cumulative-probability walk.
  return () => (rng.int(2 ** 30) * 2 ** 30 + rng.int(2 ** 30)) / 2 ** 60;
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i] as number;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/**
 * Picks the next token from one row of logits [vocab], on the host: temperature, then top-k (the k most
 * likely), then top-p (the smallest set whose probability reaches p), then a draw from what is left.
 */
export function sampleToken(logits: ArrayLike<number>, params: SamplingParams, random: () => number): number {
  if (isGreedy(params)) return argmax(logits);
  const t = params.temperature ?? 1;
  if (!(t > 0)) throw new RangeError(`sampling: temperature must be >= 0, got ${t}`);
  const V = logits.length;
  const k = params.topK !== undefined && params.topK > 0 ? Math.min(Math.floor(params.topK), V) : V;
  const p = params.topP ?? 1;
  if (!(p > 0 && p <= 1)) throw new RangeError(`sampling: topP must be in (0, 1], got ${p}`);
  const max = logits[argmax(logits)] as number;

  if (k === V && p === 1) {
    // Plain temperature sampling: no sort needed.
    let sum = 0;
    const w = new Float64Array(V);
    for (let i = 0; i < V; i++) {
      w[i] = Math.exp(((logits[i] as number) - max) / t);
      sum += w[i] as number;
    }
    let u = random() * sum;
    for (let i = 0; i < V; i++) {
      u -= w[i] as number;
      if (u < 0) return i;
    }
    return argmax(logits);
  }

  // Candidates by decreasing logit (ties: lower id first), cut to k.
  const order = Array.from({ length: V }, (_, i) => i);
  order.sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
  const cand = order.slice(0, k);
  const w = cand.map((i) => Math.exp(((logits[i] as number) - max) / t));
  let total = w.reduce((a, b) => a + b, 0);
  let keep = cand.length;
  if (p < 1) {
    let cum = 0;
    for (let j = 0; j < cand.length; j++) {
      cum += (w[j] as number) / total;
      if (cum >= p) {
        keep = j + 1;
        break;
      }
    }
    total = w.slice(0, keep).reduce((a, b) => a + b, 0);
  }
  let u = random() * total;
  for (let j = 0; j < keep; j++) {
    u -= w[j] as number;
    if (u < 0) return cand[j] as number;
  }
  return cand[keep - 1] as number;
}
