import { describe, expect, it } from 'vitest';
import { createRng, mulberry32, seedOf } from './prng.js';

describe('seeded PRNG', () => {
  it('matches the reference mulberry32 stream', () => {
    // First outputs of mulberry32(1) * 2^32, as printed by the reference C implementation (uint32 arithmetic).
    const r = mulberry32(1);
    expect([r(), r(), r()].map((x) => Math.round(x * 4294967296))).toEqual([
      2693262067, 11749833, 2265367787,
    ]);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = createRng(seedOf(7, 1));
    const b = createRng(seedOf(7, 1));
    const c = createRng(seedOf(7, 2));
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
  });

  it('draws within bounds and roughly uniformly', () => {
    const r = createRng(3);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[r.int(0, 3)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
    expect(r.sample([1, 2, 3, 4, 5], 3).sort()).toHaveLength(3);
    const x = r.logUniform(2, 50);
    expect(x).toBeGreaterThanOrEqual(2);
    expect(x).toBeLessThanOrEqual(50);
  });

  it('resumes a stream from its saved state, a signed 32-bit one included', () => {
    const a = createRng(42);
    for (let i = 0; i < 10; i++) a.next();
    const saved = a.state;
    const rest = Array.from({ length: 5 }, () => a.next());
    const b = createRng(0);
    b.state = saved;
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(rest);
    const c = createRng(0);
    c.state = saved | 0; // as an int32 (how model-tiny's checkpoints stored it before)
    expect(Array.from({ length: 5 }, () => c.next())).toEqual(rest);
  });
});
