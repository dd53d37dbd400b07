/**
 * User story: "a crash never costs me my adapter or my history". A short run of the crash harness
 * (bench/crash-safety: SIGKILL at random moments during adapter saves, imports, history writes, index saves and
 * training); the full 200-kill run and its figures are in docs/reliability.md.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('crash safety', () => {
  it('loses nothing when processes are killed mid-write (10 kills across 5 operations)', async () => {
    const root = join(import.meta.dirname, '..');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--conditions',
        'source',
        '--import',
        'tsx',
        join(root, 'bench/crash-safety/run.ts'),
        '--trials',
        '10',
        '--seed',
        '7',
      ],
      { cwd: root, timeout: 170_000 },
    );
    expect(stdout).toMatch(/10 kills \(adapter 2, history 2, import 2, index 2, train 2\)/);
    expect(stdout).toMatch(/losses: 0$/m);
  }, 180_000);
});
