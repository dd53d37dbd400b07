import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OppuError, type UserId } from '@oppu/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserRegistry } from './user-registry.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pg-registry-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const user = (id: string, task: 'LaMP_2M' | 'LaMP_7' = 'LaMP_2M') => ({
  id: id as UserId,
  task,
  createdAt: '2026-01-01T00:00:00.000Z',
});

describe('UserRegistry', () => {
  it('tells a first start apart and keeps users across reopenings', async () => {
    const path = join(dir, 'users.json');
    const first = await UserRegistry.open(path);
    expect(first.existed).toBe(false);
    await first.add(user('bob'));
    await first.add(user('amy', 'LaMP_7'));
    const again = await UserRegistry.open(path);
    expect(again.existed).toBe(true);
    expect(again.list().map((u) => [u.id, u.task])).toEqual([
      ['amy', 'LaMP_7'],
      ['bob', 'LaMP_2M'],
    ]);
    await again.remove('bob' as UserId);
    expect((await UserRegistry.open(path)).list().map((u) => u.id)).toEqual(['amy']);
  });

  it('refuses a second user with the same id, and says how to make one', async () => {
    const registry = await UserRegistry.open(join(dir, 'users.json'));
    await registry.add(user('bob'));
    await expect(registry.add(user('bob', 'LaMP_7'))).rejects.toThrow(/user "bob" already exists/);
    expect(() => registry.require('zed' as UserId)).toThrow(/user "zed" does not exist; create it first/);
  });

  it('writes the last state when writes overlap', async () => {
    const path = join(dir, 'users.json');
    const registry = await UserRegistry.open(path);
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => registry.add(user(id))));
    const file = JSON.parse(await readFile(path, 'utf8'));
    expect(file.users.map((u: { id: string }) => u.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('many users created at once share writes, and each add resolves only once its user is on disk', async () => {
    const path = join(dir, 'users.json');
    const registry = await UserRegistry.open(path);
    const ids = Array.from({ length: 50 }, (_, i) => `u${i}`);
    const onDisk = await Promise.all(
      ids.map((id) =>
        registry.add(user(id)).then(async () => {
          const file = JSON.parse(await readFile(path, 'utf8'));
          return file.users.some((u: { id: string }) => u.id === id);
        }),
      ),
    );
    expect(onDisk.every(Boolean)).toBe(true);
    expect((await UserRegistry.open(path)).list()).toHaveLength(50);
  });

  it('names the file and the entry when the file is broken', async () => {
    const path = join(dir, 'users.json');
    await writeFile(path, JSON.stringify({ version: 1, users: [{ id: '../etc', task: 'LaMP_2M' }] }));
    const error = await UserRegistry.open(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OppuError);
    expect((error as Error).message).toBe(`${path}: users[0] has no valid "id"`);
    await writeFile(path, '[]');
    await expect(UserRegistry.open(path)).rejects.toThrow(/expected \{"version": 1, "users": \[...\]\}/);
  });
});
