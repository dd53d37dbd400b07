/**
 * How much memory does loading a large LaMP questions file take?
 *
 *   pnpm --filter @oppu/core bench:lamp-load [--mb 300] [--keep]
 *
 * Writes a ~300 MB LaMP-4-shaped questions file to /tmp with `writeQuestions` (streaming, atomic), then loads it
 * in child processes (so the numbers are that process's alone) two ways:
 * - stream: `streamQuestions`, visiting every question and keeping none;
 * - array:  `readQuestions`, keeping every question in memory, under --max-old-space-size = 2x the file size
 *           (V8 aborts with "heap out of memory" if it needed more).
 * Prints one JSON line per mode: peak RSS, RSS growth and live heap after GC, each also as a ratio to the file.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
// The same generator the memory test uses (core's bench helpers run from source).
import { writeBigQuestionsFile } from '../../packages/core/src/lamp/synthetic-file.bench.js';

const { values } = parseArgs({
  options: { mb: { type: 'string', default: '300' }, keep: { type: 'boolean' } },
});
const targetMb = Number(values.mb);

const file = join(tmpdir(), `oppu-lamp-load-${targetMb}mb.json`);
const t0 = performance.now();
const n = await writeBigQuestionsFile(file, targetMb);
const size = statSync(file).size;
console.error(
  `wrote ${n} questions, ${(size / 1e6).toFixed(1)} MB, in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${file}`,
);

const probe = fileURLToPath(new URL('../../packages/core/src/lamp/load-rss.bench.ts', import.meta.url));
const tsx = createRequire(
  fileURLToPath(new URL('../../packages/core/package.json', import.meta.url)),
).resolve('tsx');
const mb = (b: number) => Math.round(b / 1e5) / 10;
try {
  for (const mode of ['stream', 'array'] as const) {
    const cap = mode === 'array' ? [`--max-old-space-size=${Math.ceil((2 * size) / 1e6)}`] : [];
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', ...cap, '--conditions', 'source', '--import', tsx, probe, file, mode],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      },
    );
    const r = JSON.parse(out.trim().split('\n').at(-1)!);
    console.log(
      JSON.stringify({
        mode,
        fileMB: mb(size),
        questions: r.questions,
        profileItems: r.profileItems,
        seconds: Math.round(r.seconds * 10) / 10,
        peakRssMB: mb(r.peakRss),
        rssGrowthMB: mb(r.peakRss - r.baseRss),
        liveHeapMB: r.liveHeapBytes === undefined ? null : mb(r.liveHeapBytes),
        peakRssToFile: Math.round(r.peakRatio * 100) / 100,
        rssGrowthToFile: Math.round(r.growthRatio * 100) / 100,
        liveHeapToFile: r.liveHeapRatio === undefined ? null : Math.round(r.liveHeapRatio * 100) / 100,
        heapCapMB: mode === 'array' ? Math.ceil((2 * size) / 1e6) : null,
      }),
    );
  }
} finally {
  if (!values.keep) rmSync(file, { force: true });
}
