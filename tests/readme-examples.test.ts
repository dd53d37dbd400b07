/**
 * A reader copies a README's example and runs it: the first ```ts block of each README below is saved as a file in
 * that README's folder (so its imports resolve as in a user's project) and run exactly as written with
 * `tsx --conditions=source` (the workspace's packages from their sources: nothing needs building). The published
 * packages' first examples also run from the packed tarballs with plain Node in tests/pack/pack.test.ts (CI).
 * Without the embedded model built in this checkout, the examples run on a small random checkpoint (same engine).
 * An example that expects a server (@oppu/s3's bucket) gets a local one, through the environment its reader would set.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import S3rver from '@20minutes/s3rver';
import { LAMP_2M_TAGS } from '@oppu/core';
import { defaultBaseModelDir, writeTestCheckpoint } from '@oppu/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/** The ```ts code blocks of a README, in order. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

interface Example {
  /** The README's folder, from the repository root. */
  readonly dir: string;
  /** What the example imports: the README's first block must be the example of this folder. */
  readonly imports: string;
  /** What a reader would check in what it prints. */
  readonly check: (stdout: string) => void;
  /** What the example expects around it (a server), given as the environment its reader would set. */
  readonly around?: (scratch: string) => Promise<{ env: Record<string, string>; stop(): Promise<void> }>;
}

const EXAMPLES: readonly Example[] = [
  {
    dir: 'packages/langchain',
    imports: "from '@oppu/langchain'",
    check(stdout) {
      // The task question's line prints the method that answered: bob's own adapter.
      expect(stdout).toMatch(/oppu\+pag/);
      expect(stdout).toMatch(/input_tokens/);
    },
  },
  {
    dir: 'packages/cli',
    imports: "from '@oppu/cli'",
    check(stdout) {
      // `oppu synth`'s summary, then `oppu score`'s metrics of the oracle's predictions, then the exit code.
      const [synth, score, last] = stdout.trimEnd().split('\n');
      expect(JSON.parse(synth!)).toMatchObject({ task: 'LaMP_2M', users: 4 });
      expect(JSON.parse(score!)).toMatchObject({ task: 'LaMP_2M', count: 8 });
      expect(last).toBe('exit code 0');
    },
  },
  {
    dir: 'apps/playground',
    imports: "from './src/server/create-server.js'",
    check(stdout) {
      // One line per method, each answered with one of LaMP-2M's tags.
      const answers = new Map(
        stdout
          .split('\n')
          .map((line) => /^(base|rag|pag|oppu) (.+)$/.exec(line))
          .filter((m) => m !== null)
          .map((m) => [m[1]!, m[2]!]),
      );
      expect([...answers.keys()].sort()).toEqual(['base', 'oppu', 'pag', 'rag']);
      for (const tag of answers.values()) expect(LAMP_2M_TAGS).toContain(tag);
    },
  },
  {
    dir: 'packages/s3',
    imports: "from '@oppu/s3'",
    check(stdout) {
      expect(stdout).toMatch(/prod\/ada\/\.\.\. v1 sha256 [0-9a-f]{64}/);
    },
    // The bucket on a local S3-compatible server; the AWS SDK reads the endpoint and keys from the environment.
    async around(scratch) {
      const server = new S3rver({
        port: 0,
        address: '127.0.0.1',
        silent: true,
        directory: join(scratch, 's3'),
        configureBuckets: [{ name: 'oppu-adapters', configs: [] }],
        allowMismatchedSignatures: true, // it signs bucket requests as `/bucket`, the SDK as `/bucket/`
      });
      const { port } = await server.run();
      return {
        env: {
          AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
          AWS_ACCESS_KEY_ID: 'S3RVER',
          AWS_SECRET_ACCESS_KEY: 'S3RVER',
          AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED', // s3rver predates the SDK's default checksums
          AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
          OPPU_HOME: join(scratch, 's3-home'),
        },
        stop: () => server.close(),
      };
    },
  },
];

let scratch: string;
const env: Record<string, string> = {};
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'oppu-readme-'));
  if (!existsSync(join(defaultBaseModelDir(), 'config.json'))) {
    await writeTestCheckpoint(join(scratch, 'model'));
    env.OPPU_BASE_MODEL_DIR = join(scratch, 'model');
  }
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe.each(EXAMPLES)('the README of $dir', (example) => {
  const dir = join(ROOT, example.dir);
  const firstBlock = async () => tsBlocks(await readFile(join(dir, 'README.md'), 'utf8'))[0];

  it('starts with its TypeScript example', async () => {
    expect(await firstBlock()).toContain(example.imports);
  });

  it('runs as written', async () => {
    const file = join(dir, `.readme-example-${process.pid}.ts`);
    await writeFile(file, (await firstBlock())!);
    const around = await example.around?.(scratch);
    try {
      const { stdout } = await promisify(execFile)(TSX, ['--conditions=source', file], {
        cwd: dir,
        env: { ...process.env, ...env, ...around?.env },
        timeout: 110_000,
      });
      example.check(stdout);
    } finally {
      await rm(file, { force: true });
      await around?.stop();
    }
  });
});
