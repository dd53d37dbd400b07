/**
 * User story: "I run OPPU on real histories, where an item is anything from five words to a long report, and it
 * finishes, in bounded memory". 20 users whose items and questions run from 5 to 5,000 words (one of them a
 * 2 MB "word" without a space), every prompt cut to the context limit, OPPU+PAG end to end (per-user LoRAs
 * trained together in shared batches, then generation), with and without the native kernels: each run in a
 * process of its own (long-texts-job.ts) so that its peak RSS is its own. Before the truncation policy and the
 * token budgets this failed on the first prompt over the context; the wasm heap, unguarded, was corrupted
 * instead of refusing when it ran out (docs/decisions/009-wasm-heap-exhaustion.md).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

interface JobResult {
  ok: boolean;
  error?: string;
  native: boolean;
  seconds: number;
  rssMb: number;
  heapPeakMb: number;
  answers: number;
  promptTokens: { min: number; max: number };
  context: number;
  answerTokens: number;
}

async function job(native: boolean): Promise<JobResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions', 'source', '--import', 'tsx', join(import.meta.dirname, 'long-texts-job.ts')],
    {
      env: { ...process.env, OPPU_NATIVE: native ? '1' : '0', OPPU_QUIET: '1' },
      maxBuffer: 16 * 2 ** 20,
      timeout: 120_000,
    },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`long-texts-job printed no RESULT line:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice('RESULT '.length)) as JobResult;
}

/** Peak RSS allowed a run: Node, tfjs and the model (~250 MB), plus what the token budgets let a pass take. */
const RSS_BOUND_MB = 1400;

describe('long texts: 20 users, items of 5 to 5,000 words, prompts at the context limit', () => {
  // Both runs at once (each is mostly one thread), then checked one by one.
  const runs = Promise.all([job(true), job(false)]);
  runs.catch(() => undefined); // a failure is reported by the tests that await it
  for (const [i, native] of [true, false].entries()) {
    it(`answers every question in bounded memory ${native ? 'with' : 'without'} the native kernels`, async () => {
      const r = (await runs)[i] as JobResult;
      expect(r.error).toBeUndefined();
      expect(r.ok).toBe(true);
      expect(r.answers).toBe(40);
      // Every prompt, BOS included, leaves the answer its room; the longest ones are at the limit.
      expect(r.promptTokens.max + r.answerTokens).toBeLessThanOrEqual(r.context - 1);
      expect(r.promptTokens.max).toBeGreaterThan(r.context - r.answerTokens - 16);
      expect(r.rssMb).toBeLessThan(RSS_BOUND_MB);
      expect(r.heapPeakMb).toBeLessThan(RSS_BOUND_MB - 250);
    });
  }
});
