import { describe, expect, it } from 'vitest';
import { KeyedQueue } from './keyed-queue.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KeyedQueue', () => {
  it('runs one job at a time per key, several keys in parallel up to the limit', async () => {
    const q = new KeyedQueue(2);
    const log: string[] = [];
    let live = 0;
    let maxLive = 0;
    const job = (name: string, ms: number) => async () => {
      live++;
      maxLive = Math.max(maxLive, live);
      log.push(`start ${name}`);
      await tick(ms);
      log.push(`end ${name}`);
      live--;
      return name;
    };
    const results = await Promise.all([
      q.run('a', job('a1', 20)),
      q.run('a', job('a2', 5)),
      q.run('b', job('b1', 5)),
      q.run('c', job('c1', 5)),
    ]);
    expect(results).toEqual(['a1', 'a2', 'b1', 'c1']);
    expect(maxLive).toBe(2);
    expect(log.indexOf('start a2')).toBeGreaterThan(log.indexOf('end a1'));
    expect(q.size('a')).toBe(0);
  });

  it('keeps going after a failed job', async () => {
    const q = new KeyedQueue(1);
    const failed = q.run('a', async () => {
      throw new Error('boom');
    });
    const ok = q.run('a', async () => 7);
    await expect(failed).rejects.toThrow('boom');
    await expect(ok).resolves.toBe(7);
    await q.idle();
    expect(q.active).toBe(0);
  });
});

describe('KeyedQueue.runMany', () => {
  it('holds several keys at once: it waits for each key, and each key waits for it', async () => {
    const q = new KeyedQueue(4);
    const log: string[] = [];
    const job = (name: string, ms: number) => async () => {
      log.push(`start ${name}`);
      await tick(ms);
      log.push(`end ${name}`);
    };
    await Promise.all([
      q.run('a', job('a1', 15)),
      q.runMany(['a', 'b'], job('ab', 5)),
      q.run('b', job('b2', 1)),
      q.run('c', job('c1', 1)),
    ]);
    expect(log.indexOf('start ab')).toBeGreaterThan(log.indexOf('end a1'));
    expect(log.indexOf('start b2')).toBeGreaterThan(log.indexOf('end ab'));
    expect(log.indexOf('start c1')).toBeLessThan(log.indexOf('end a1'));
    expect(q.size('a') + q.size('b')).toBe(0);
  });
});
