import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBigQuestionsFile } from './synthetic-file.bench.js';

const run = promisify(execFile);
const probe = fileURLToPath(new URL('./load-rss.bench.ts', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');

interface Probe {
  fileBytes: number;
  questions: number;
  baseRss: number;
  peakRss: number;
  growthRatio: number;
  liveHeapRatio: number;
}

async function measure(file: string, mode: 'stream' | 'array', maxOldSpaceMb?: number): Promise<Probe> {
  const flags = ['--expose-gc', ...(maxOldSpaceMb ? [`--max-old-space-size=${maxOldSpaceMb}`] : [])];
  const { stdout } = await run(
    process.execPath,
    [...flags, '--conditions', 'source', '--import', tsx, probe, file, mode],
    {
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Probe;
}

let dir: string;
let file: string;
let size: number;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oppu-mem-'));
  file = join(dir, 'questions.json');
  await writeBigQuestionsFile(file, 30);
  size = (await stat(file)).size;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loading a large questions file', () => {
  it('streams a ~30 MB file with RSS growth far below the file size', async () => {
    expect(size).toBeGreaterThan(25e6);
    const r = await measure(file, 'stream');
    expect(r.questions).toBeGreaterThan(300);
    // Streaming keeps one question at a time: growth is a read buffer and parser state, not the file.
    expect(r.growthRatio).toBeLessThan(1);
  });

  it('holds the whole file as objects in less heap than its size, and loads under a 2x heap cap', async () => {
    // The cap makes V8 fail with "heap out of memory" if loading ever needed more than twice the file.
    const capMb = Math.ceil((2 * size) / 1e6);
    const r = await measure(file, 'array', capMb);
    expect(r.questions).toBeGreaterThan(300);
    expect(r.liveHeapRatio).toBeLessThan(1.5);
    // RSS also carries V8's fixed young-generation reserve, which dominates at 30 MB and fades at 300 MB
    // (see bench/lamp-load for the 300 MB numbers).
    expect(r.growthRatio).toBeLessThan(3);
  });
});
