/**
 * User story: "the playground keeps working when many people use it at once". A short run of the load test
 * (bench/playground-load: the real playground server on loopback and the embedded model, simulated users
 * adding items, asking and training); the full 50-user, 3-minute run and its figures are in docs/reliability.md.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

interface LoadResult {
  errors: number;
  counts: { requests: number; asks: number; adds: number; trainings: number };
  routes: { route: string; n: number; p50: number; p99: number }[];
  warm: { rssMiB: number; heapMiB: number };
  end: { rssMiB: number; heapMiB: number };
  gc: boolean;
}

describe('playground under load', () => {
  it('serves 10 users adding, asking and training for 20 s with no error and no heap growth', async () => {
    const root = join(import.meta.dirname, '..');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--expose-gc',
        '--conditions',
        'source',
        '--import',
        'tsx',
        join(root, 'bench/playground-load/run.ts'),
        '--seconds',
        '20',
        '--users',
        '10',
        '--warmup',
        '0.5',
        '--steps',
        '2',
      ],
      { cwd: root, timeout: 280_000, maxBuffer: 16 * 1024 * 1024 },
    );
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line, stdout).toBeDefined();
    const result = JSON.parse(line!.slice('RESULT '.length)) as LoadResult;
    expect(result.errors, stdout).toBe(0);
    // Every kind of work happened.
    expect(result.counts.asks).toBeGreaterThan(0);
    expect(result.counts.adds).toBeGreaterThan(0);
    expect(result.counts.trainings).toBeGreaterThan(0);
    for (const route of ['POST /items', 'POST /ask', 'POST /training']) {
      expect(result.routes.map((r) => r.route)).toContain(route);
    }
    // Live objects after a full GC: what the server holds does not keep growing with the work done.
    expect(result.gc).toBe(true);
    expect(result.end.heapMiB - result.warm.heapMiB).toBeLessThan(32);
  }, 300_000);
});
