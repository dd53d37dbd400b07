import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAtomicWriter, writeFileAtomic } from './atomic-write.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oppu-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('atomic writes', () => {
  it('replaces a file and leaves no temp file behind', async () => {
    const path = join(dir, 'sub', 'a.json');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, 'two');
    expect(await readFile(path, 'utf8')).toBe('two');
    expect(await readdir(join(dir, 'sub'))).toEqual(['a.json']);
  });

  it('shows nothing at the target until commit, and abort keeps the old file', async () => {
    const path = join(dir, 'big.json');
    await writeFile(path, 'old');
    const w = await createAtomicWriter(path);
    await w.write('new ');
    await w.write('content');
    expect(await readFile(path, 'utf8')).toBe('old');
    await w.commit();
    expect(await readFile(path, 'utf8')).toBe('new content');

    const w2 = await createAtomicWriter(path);
    await w2.write('half');
    await w2.abort();
    expect(await readFile(path, 'utf8')).toBe('new content');
    expect(await readdir(dir)).toEqual(['big.json']);
  });
});
