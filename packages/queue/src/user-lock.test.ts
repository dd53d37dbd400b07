import { userId } from '@oppu/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRedisServer, type LocalRedis, startLocalRedis } from './local-redis.js';
import { UserLocks } from './user-lock.js';

const hasRedis = findRedisServer() !== undefined;
if (!hasRedis) console.warn('packages/queue user-lock: SKIPPED: redis-server is not installed');

let server: LocalRedis | undefined;
let redis: Redis | undefined;
beforeAll(async () => {
  if (!hasRedis) return;
  server = await startLocalRedis();
  redis = new Redis({ host: server.host, port: server.port });
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

const ada = userId('ada');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasRedis)('UserLocks', () => {
  it('lets one holder per user in, keeps the lock while held, and frees it on release', async () => {
    const locks = new UserLocks(redis!, 'test1', 300);
    const first = await locks.acquire(ada, 'w1');
    expect(first).toBeDefined();
    expect(await locks.acquire(ada, 'w2')).toBeUndefined();
    expect(await locks.acquire(userId('bo'), 'w2')).toBeDefined(); // other users are not blocked
    await sleep(700); // past the ttl: still held, because it is extended
    expect(await locks.acquire(ada, 'w2')).toBeUndefined();
    expect(first!.lost.aborted).toBe(false);
    await first!.release();
    const second = await locks.acquire(ada, 'w2');
    expect(second).toBeDefined();
    await second!.release();
  });

  it('frees a dead holder after the ttl, and tells a holder that lost its lock', async () => {
    const locks = new UserLocks(redis!, 'test2', 300);
    const held = await locks.acquire(ada, 'w1');
    // A holder that dies stops extending: simulate by deleting the key's owner as an expiry would.
    await redis!.del(locks.key(ada));
    const thief = await locks.acquire(ada, 'w2');
    expect(thief).toBeDefined();
    await expect(held!.check()).rejects.toThrow(/no longer holds the lock of user ada/);
    await thief!.check(); // the new holder does
    await sleep(250);
    expect(held!.lost.aborted).toBe(true);
    await held!.release(); // does not remove the new holder's lock
    expect(await locks.holder(ada)).toBe(thief!.token);
    await thief!.release();
    expect(await locks.holder(ada)).toBeNull();
  });
});
