/**
 * Runs jobs one at a time per key and at most `concurrency` keys at once. A job for a key that already has one
 * running waits behind it; jobs of other keys go ahead while a slot is free.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private readonly pending = new Map<string, number>();

  constructor(readonly concurrency = 1) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    }
  }

  /** Jobs queued or running for the key. */
  size(key: string): number {
    return this.pending.get(key) ?? 0;
  }

  get active(): number {
    return this.running;
  }

  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    return this.runMany([key], job);
  }

  /**
   * One job that holds several keys at once (e.g. training several users together): it starts after every
   * earlier job of each key, takes one slot, and later jobs of any of these keys wait for it.
   */
  runMany<T>(keys: readonly string[], job: () => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)];
    for (const key of unique) this.pending.set(key, this.size(key) + 1);
    const previous = Promise.all(unique.map((key) => this.tails.get(key) ?? Promise.resolve()));
    const result = previous
      .catch(() => {})
      .then(() => this.acquire())
      .then(async () => {
        try {
          return await job();
        } finally {
          this.release();
        }
      });
    const tail: Promise<unknown> = result
      .catch(() => {})
      .finally(() => {
        for (const key of unique) {
          const left = this.size(key) - 1;
          if (left === 0) this.pending.delete(key);
          else this.pending.set(key, left);
          if (this.tails.get(key) === tail) this.tails.delete(key);
        }
      });
    for (const key of unique) this.tails.set(key, tail);
    return result;
  }

  /** Resolves when every queued job has settled. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.allSettled([...this.tails.values()]);
  }

  private acquire(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(() => resolve()));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
