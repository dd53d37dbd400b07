import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const README = new URL('../../README.md', import.meta.url);

/** The ```ts block under the README's `@oppu/core/testing` heading, as printed. */
async function testingExample(): Promise<string> {
  const text = await readFile(README, 'utf8');
  const section = text.slice(text.indexOf('## Testing your code without a model'));
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(section);
  if (!block) throw new Error('README.md: no ```ts block in the @oppu/core/testing section');
  return block[1]!;
}

let dir: string | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the README example of @oppu/core/testing', () => {
  it('runs as printed and prints what the README says', async () => {
    const code = await testingExample();
    expect(code).toContain("from '@oppu/core/testing'");
    dir = await mkdtemp(join(tmpdir(), 'oppu-testing-readme-'));
    const file = join(dir, 'example.ts');
    await writeFile(file, code);
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    await import(/* @vite-ignore */ file);
    expect(lines).toEqual(['rag 1 oppu+rag sci-fi']);
  });
});
