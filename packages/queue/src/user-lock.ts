import { randomBytes } from 'node:crypto';
import { OppuError, type UserId } from '@oppu/core';
import type { Redis } from 'ioredis';

// Delete / extend the key only while it still holds our token (another holder's lock is never touched).
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface HeldLock {
  readonly key: string;
  readonly token: string;
  /** Aborts when the lock could not be extended (the holder must stop: someone else may take the user now). */
  readonly lost: AbortSignal;
  /** Throws (`lock_lost`) unless this holder still has the lock now: asked of Redis, not of the last renewal. */
  check(): Promise<void>;
  release(): Promise<void>;
}

/**
 * One training job per user at a time, across every worker on every machine: a Redis key per user
 * (`SET key token NX PX ttl`), extended every `ttl / 3` while the job runs and deleted when it ends. A worker that
 * dies stops extending it, so the user is free again after at most `ttl` ms. (BullMQ's own groups, which would do
 * this inside the queue, are a BullMQ Pro feature; this is the usual open-source way.)
 */
export class UserLocks {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly ttlMs: number,
  ) {}

  key(user: UserId): string {
    return `${this.prefix}:user-lock:${user}`;
  }

  /** The lock, or undefined when another job of this user holds it. */
  async acquire(user: UserId, owner: string): Promise<HeldLock | undefined> {
    const key = this.key(user);
    const token = `${owner}:${randomBytes(8).toString('hex')}`;
    const ok = await this.redis.set(key, token, 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') return undefined;
    const lost = new AbortController();
    const timer = setInterval(
      () => {
        this.redis
          .eval(EXTEND, 1, key, token, String(this.ttlMs))
          .then((n) => {
            if (n !== 1) lost.abort(new Error(`lock ${key} was lost`));
          })
          .catch((error: unknown) => lost.abort(error));
      },
      Math.max(50, Math.floor(this.ttlMs / 3)),
    );
    timer.unref();
    return {
      key,
      token,
      lost: lost.signal,
      check: async () => {
        if ((await this.redis.get(key)) !== token) {
          lost.abort(new Error(`lock ${key} was lost`));
          throw new OppuError(
            'lock_lost',
            `${key}: this worker no longer holds the lock of user ${user} (it stalled past ${this.ttlMs} ms); the job is left to the worker that holds it`,
          );
        }
      },
      release: async () => {
        clearInterval(timer);
        await this.redis.eval(RELEASE, 1, key, token);
      },
    };
  }

  /** Who holds the user's lock now (the token), if anyone. */
  holder(user: UserId): Promise<string | null> {
    return this.redis.get(this.key(user));
  }
}
