import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** A seeded random source (xoroshiro128+ from pure-rand): data order and dropout seeds are reproducible. */
export interface Rng {
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** A fresh 31-bit seed, e.g. for a tf.dropout call. */
  seed(): number;
  /** Fisher-Yates shuffle, in place. */
  shuffle<T>(items: T[]): T[];
}

export function createRng(seed: number): Rng {
  const gen = xoroshiro128plus(seed | 0);
  const int = (n: number) => uniformInt(gen, 0, n - 1);
  return {
    int,
    seed: () => uniformInt(gen, 0, 0x7fffffff),
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
