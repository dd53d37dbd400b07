import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defaultBaseModelDir, writeTestCheckpoint } from '@oppu/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** The ```ts code blocks of the README, in order. */
export function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

let scratch: string;
const env: Record<string, string> = {};
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'oppu-readme-'));
  // Without the embedded tiny model built in this checkout, run on a small random checkpoint (same engine).
  if (!existsSync(join(defaultBaseModelDir(), 'config.json'))) {
    await writeTestCheckpoint(join(scratch, 'model'));
    env.OPPU_BASE_MODEL_DIR = join(scratch, 'model');
  }
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('README', () => {
  it('has one TypeScript example', async () => {
    const blocks = tsBlocks(await readFile(join(packageDir, 'README.md'), 'utf8'));
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toContain("from '@oppu/langchain'");
  });

  it('runs as written', async () => {
    const [code] = tsBlocks(await readFile(join(packageDir, 'README.md'), 'utf8'));
    // Inside the package folder, so '@oppu/langchain' and '@langchain/core' resolve as in a user's project.
    const file = join(packageDir, `.readme-example-${process.pid}.ts`);
    await writeFile(file, code!);
    try {
      const tsx = join(packageDir, 'node_modules', '.bin', 'tsx');
      const { stdout } = await promisify(execFile)(tsx, ['--conditions=source', file], {
        cwd: packageDir,
        env: { ...process.env, ...env },
        timeout: 110_000,
      });
      // The task question's line prints the method that answered: bob's own adapter.
      expect(stdout).toMatch(/oppu\+pag/);
      expect(stdout).toMatch(/input_tokens/);
    } finally {
      await rm(file, { force: true });
    }
  });
});
