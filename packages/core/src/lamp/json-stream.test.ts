import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamJsonValues } from './json-stream.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oppu-jsonstream-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(path: string, highWaterMark?: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const { value } of streamJsonValues(path, {
    paths: ['$.*'],
    topLevel: 'array',
    highWaterMark,
  })) {
    out.push(value);
  }
  return out;
}

describe('streamJsonValues', () => {
  it('decodes multi-byte characters split across read chunks', async () => {
    const items = Array.from({ length: 40 }, (_, i) => ({
      id: String(i),
      text: 'é日本語🙂'.repeat((i % 7) + 1),
    }));
    const p = join(dir, 'utf8.json');
    await writeFile(p, JSON.stringify(items));
    expect(await collect(p, 7)).toEqual(items);
  });

  it('accepts a BOM and trailing whitespace, refuses trailing data', async () => {
    const ok = join(dir, 'bom.json');
    await writeFile(ok, '\ufeff [1, 2]\n\n');
    expect(await collect(ok)).toEqual([1, 2]);
    const bad = join(dir, 'trailing.json');
    await writeFile(bad, '[1, 2] [3]');
    await expect(collect(bad)).rejects.toThrow(/trailing\.json: not valid JSON/);
  });
});
