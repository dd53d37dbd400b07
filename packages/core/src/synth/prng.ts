/**
 * The project's one seeded PRNG: mulberry32 (Tommy Ettinger's 32-bit generator), plus the draws the
 * synthesizer, the trainer (data order, dropout seeds, sampling), pretraining and the scripts need. Written out
 * rather than imported so the generated data can never change under a dependency upgrade: the same seed gives
 * the same files forever. Its whole state is one 32-bit number (`state`), so a checkpoint can save and resume it.
 */
export interface Rng {
  /** The generator's whole state (uint32); assigning a saved value resumes that stream exactly. */
  state: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  /** Index drawn with probability proportional to `weights`. */
  weighted(weights: readonly number[]): number;
  chance(p: number): boolean;
  shuffle<T>(items: readonly T[]): T[];
  /** `k` distinct items. */
  sample<T>(items: readonly T[], k: number): T[];
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** Log-uniform in [lo, hi]. */
  logUniform(lo: number, hi: number): number;
}

/** The bare mulberry32 stream: uniform in [0, 1) from `seed`. */
export function mulberry32(seed: number): () => number {
  return createRng(seed).next;
}

/** Mixes numbers into one 32-bit seed (FNV-1a over their 32-bit words), e.g. `seedOf(seed, userIndex)`. */
export function seedOf(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    let x = p >>> 0;
    for (let i = 0; i < 4; i++) {
      h ^= x & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
      x >>>= 8;
    }
  }
  return h;
}

export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    get state() {
      return a;
    },
    set state(value: number) {
      a = value >>> 0;
    },
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (items) => items[Math.floor(next() * items.length)]!,
    weighted: (weights) => {
      const total = weights.reduce((a, b) => a + b, 0);
      let r = next() * total;
      for (let i = 0; i < weights.length; i++) {
        r -= weights[i]!;
        if (r < 0) return i;
      }
      return weights.length - 1;
    },
    chance: (p) => next() < p,
    shuffle: (items) => {
      const a = [...items];
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [a[i], a[j]] = [a[j]!, a[i]!];
      }
      return a;
    },
    sample: (items, k) => rng.shuffle(items).slice(0, k),
    normal: () => {
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    logUniform: (lo, hi) => Math.exp(Math.log(lo) + next() * (Math.log(hi) - Math.log(lo))),
  };
  return rng;
}
