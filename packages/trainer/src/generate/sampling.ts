import { createRng } from '../train/rng.js';

/** How the next token is chosen. Greedy when temperature is 0, or when none of the three is set. */
export interface SamplingParams {
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
}

/** Repetition controls, applied to a row's logits before sampling (see `RepetitionGuard`). */
export interface RepetitionParams {
  /** CTRL's penalty on tokens already in the sequence; 1 or undefined is off. */
  readonly repetitionPenalty?: number;
  /** HF's `no_repeat_ngram_size`: no n-gram of this size occurs twice in the sequence; 0 or undefined is off. */
  readonly noRepeatNgramSize?: number;
  /** What the two look at: the prompt and the output ('all', HF's semantics, the default) or the output only. */
  readonly repetitionScope?: 'all' | 'output';
}

/** Checks the repetition options; returns whether any of them is on (off: decoding does no extra work). */
export function repetitionEnabled(p: RepetitionParams): boolean {
  const penalty = p.repetitionPenalty ?? 1;
  const n = p.noRepeatNgramSize ?? 0;
  if (!(Number.isFinite(penalty) && penalty > 0))
    throw new RangeError(`sampling: repetitionPenalty must be a positive number (1 is off), got ${penalty}`);
  if (!(Number.isSafeInteger(n) && n >= 0))
    throw new RangeError(`sampling: noRepeatNgramSize must be a whole number >= 0 (0 is off), got ${n}`);
  return penalty !== 1 || n > 0;
}

/**
 * One row's repetition controls, in HF's order and with its semantics, over the whole sequence so far (prompt
 * and output; padding is never part of it), or with `repetitionScope: 'output'` over the output alone (copying
 * from the prompt, as headline and paraphrase answers do, is then never penalised; loops in the answer are):
 * - repetition penalty (CTRL, Keskar et al. 2019): the logit of every token already in the sequence is
 *   divided by the penalty when positive and multiplied by it when negative (> 1 discourages repeats);
 * - no-repeat n-grams: a token that would complete an n-gram already in the sequence gets -Infinity (with
 *   n = 1: every token already in the sequence).
 * Keeps its state incrementally (a set of seen ids; per (n-1)-gram, the ids that followed it), so a step
 * costs O(distinct tokens seen + banned), not O(sequence).
 */
export class RepetitionGuard {
  private readonly penalty: number;
  private readonly n: number;
  private readonly seen = new Set<number>();
  /** (n-1)-gram (ids joined by ',') -> the ids that followed it. */
  private readonly followers = new Map<string, Set<number>>();
  /** The last n-1 ids (fewer at the start). */
  private readonly tail: number[] = [];
  private length = 0;

  constructor(params: RepetitionParams, prompt: readonly number[]) {
    repetitionEnabled(params);
    this.penalty = params.repetitionPenalty ?? 1;
    this.n = params.noRepeatNgramSize ?? 0;
    if ((params.repetitionScope ?? 'all') === 'all') for (const id of prompt) this.push(id);
  }

  /** Appends a token to the sequence. */
  push(id: number): void {
    this.length++;
    if (this.penalty !== 1) this.seen.add(id);
    if (this.n === 0) return;
    if (this.tail.length === this.n - 1) {
      const key = this.tail.join(',');
      let next = this.followers.get(key);
      if (!next) {
        next = new Set();
        this.followers.set(key, next);
      }
      next.add(id);
    }
    this.tail.push(id);
    if (this.tail.length > this.n - 1) this.tail.shift();
  }

  /** Rewrites one row of logits [vocab] in place for the next token. */
  apply(logits: Float32Array): void {
    const p = this.penalty;
    if (p !== 1)
      for (const id of this.seen) {
        const v = logits[id] as number;
        logits[id] = v < 0 ? v * p : v / p;
      }
    // An n-gram needs n - 1 ids before the next one (HF: cur_len + 1 >= n).
    if (this.n === 0 || this.length < this.n - 1) return;
    const banned = this.followers.get(this.tail.join(','));
    if (banned) for (const id of banned) logits[id] = Number.NEGATIVE_INFINITY;
  }
}

export function isGreedy(p: SamplingParams): boolean {
  return p.temperature === 0 || (p.temperature === undefined && p.topK === undefined && p.topP === undefined);
}

/** A uniform [0, 1) source from a seed (the project's PRNG, core's mulberry32, as the trainer's data order). */
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
