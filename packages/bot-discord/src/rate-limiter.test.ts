import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('allows `limit` uses per window per key, then says when to retry', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ ask: { limit: 2, windowSeconds: 60 } }, () => now);
    expect(limiter.take('a', 'ask')).toEqual({ ok: true });
    now += 10_000;
    expect(limiter.take('a', 'ask')).toEqual({ ok: true });
    now += 5_000;
    expect(limiter.take('a', 'ask')).toEqual({ ok: false, retryAfterSeconds: 45 });
    // Another member and another command are counted apart.
    expect(limiter.take('b', 'ask')).toEqual({ ok: true });
    expect(limiter.take('a', 'train')).toEqual({ ok: true });
    // The window slides: once the first use is 60 s old, one more is allowed.
    now += 45_001;
    expect(limiter.take('a', 'ask')).toEqual({ ok: true });
    expect(limiter.take('a', 'ask').ok).toBe(false);
  });

  it('refuses a rule that cannot work', () => {
    expect(() => new RateLimiter({ ask: { limit: 0, windowSeconds: 60 } })).toThrow(/ask.*positive integer/);
  });
});
