/**
 * User story: "when I ask to be forgotten, nothing of mine is left": no adapter version, history row, profile,
 * setting or cache entry, and no byte of my id or my words anywhere under OPPU_HOME (SQLite's free pages and
 * write-ahead log included).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userId } from '@oppu/core';
import { createLocalOppu, writeTestCheckpoint } from '@oppu/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-forget-'));
  await writeTestCheckpoint(join(root, 'model'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

describe('forget', () => {
  it('leaves no trace of the user in any store, file or cache', async () => {
    const oppu = await createLocalOppu({
      home: join(root, 'home'),
      baseModelDir: join(root, 'model'),
      training: { maxSteps: 2 },
      onLog: () => {},
    });
    const victim = userId('forgetme_zq7');
    const keeper = userId('keeper_k2');
    const secret = 'xylophonequartz';
    await oppu.service.addItems(victim, [
      { id: 'v1', text: `my ${secret} diary entry`, date: '2024-01-01' },
      { id: 'v2', text: `another ${secret} note`, date: '2024-01-02' },
    ]);
    await oppu.service.addItems(keeper, [{ id: 'k1', text: 'the keeper stays' }]);
    await oppu.service.train(victim);
    await oppu.service.train(victim); // two versions
    const task = oppu.service.task;
    await oppu.service.ask(
      victim,
      task.formatInput(task.parseInput(task.formatInput({ text: 'hello' } as never))),
      { method: 'oppu+pag' },
    );
    expect((await oppu.service.versions(victim)).length).toBe(2);

    await oppu.service.forget(victim);

    expect(await oppu.service.versions(victim)).toEqual([]);
    expect(await oppu.service.items(victim)).toEqual([]);
    expect(await oppu.service.profile(victim)).toBeUndefined();
    expect(await oppu.history.users()).toEqual([keeper]);
    // biome-ignore lint/complexity/useLiteralKeys: the cache is private; the test reaches into it on purpose
    expect(oppu.service['cache'].keys().filter((k: string) => k.startsWith(victim))).toEqual([]);
    // Raw bytes: while the store is still open (WAL present) and after closing it.
    for (const phase of ['open', 'closed']) {
      if (phase === 'closed') await oppu.close();
      for (const file of await filesUnder(oppu.home)) {
        const bytes = await readFile(file);
        for (const needle of [victim, secret]) {
          expect(bytes.includes(Buffer.from(needle)), `${phase}: ${file} contains "${needle}"`).toBe(false);
        }
      }
    }
  });
});
