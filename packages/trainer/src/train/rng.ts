import { createRng as createSeededRng } from '@oppu/core';

/**
 * The trainer's draws (data order, dropout seeds, sampling) from the project's one seeded PRNG, core's
 * mulberry32 (`createRng` in @oppu/core): the same seed gives the same stream on every platform.
 */
export interface Rng {
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** A fresh 31-bit seed, e.g. for a tf.dropout call. */
  seed(): number;
  /** Fisher-Yates shuffle, in place. */
  shuffle<T>(items: T[]): T[];
}

export function createRng(seed: number): Rng {
  const rng = createSeededRng(seed);
  const int = (n: number) => rng.int(0, n - 1);
  return {
    int,
    seed: () => int(0x80000000),
    shuffle<T>(items: T[]) {
      for (let i = items.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [items[i], items[j]] = [items[j] as T, items[i] as T];
      }
      return items;
    },
  };
}

/** Mixes a seed with labels into a new 31-bit seed (FNV-1a), so each layer/module gets its own stream. */
export function deriveSeed(seed: number, ...labels: (string | number)[]): number {
  let h = 0x811c9dc5 ^ (seed | 0);
  for (const ch of labels.join('/')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & 0x7fffffff;
}
