/** At most `limit` uses in any window of `windowSeconds`. */
export interface RateRule {
  readonly limit: number;
  readonly windowSeconds: number;
}

export type RateCheck = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

/**
 * Per-key sliding-window limits (one key per member and command). Each key keeps the times of its recent uses
 * only, and keys with no recent use are dropped, so memory stays bounded by the active members.
 */
export class RateLimiter {
  private readonly rules: Readonly<Record<string, RateRule>>;
  private readonly uses = new Map<string, number[]>();
  private readonly now: () => number;

  constructor(rules: Readonly<Record<string, RateRule>>, now: () => number = Date.now) {
    for (const [name, rule] of Object.entries(rules)) {
      if (!(Number.isInteger(rule.limit) && rule.limit > 0 && rule.windowSeconds > 0)) {
        throw new RangeError(
          `rate rule "${name}": limit must be a positive integer and windowSeconds positive`,
        );
      }
    }
    this.rules = rules;
    this.now = now;
  }

  rule(bucket: string): RateRule | undefined {
    return this.rules[bucket];
  }

  /** Records a use of `bucket` by `key` when allowed; a bucket without a rule is unlimited. */
  take(key: string, bucket: string): RateCheck {
    const rule = this.rules[bucket];
    if (!rule) return { ok: true };
    const id = `${bucket}\u0000${key}`;
    const now = this.now();
    const since = now - rule.windowSeconds * 1000;
    const recent = (this.uses.get(id) ?? []).filter((t) => t > since);
    if (recent.length >= rule.limit) {
      this.uses.set(id, recent);
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((recent[0]! - since) / 1000)) };
    }
    recent.push(now);
    this.uses.set(id, recent);
    if (this.uses.size > 10_000) this.sweep(now);
    return { ok: true };
  }

  private sweep(now: number): void {
    for (const [id, times] of this.uses) {
      const bucket = id.slice(0, id.indexOf('\u0000'));
      const window = (this.rules[bucket]?.windowSeconds ?? 0) * 1000;
      if (times.every((t) => t <= now - window)) this.uses.delete(id);
    }
  }
}
