/**
 * Child-process probe: loads a LaMP questions file and prints one JSON line with the process's RSS before and
 * at peak. Run by `questions-memory.test.ts` and by `bench/lamp-load`:
 *
 *   node --expose-gc --import tsx packages/core/src/lamp/load-rss.bench.ts FILE stream|array
 *
 * `stream` visits every question with `streamQuestions` and keeps none; `array` keeps them all (`readQuestions`).
 */
import { stat } from 'node:fs/promises';
import { readQuestions, streamQuestions } from './questions.js';

const [file, mode = 'stream'] = process.argv.slice(2);
if (!file || (mode !== 'stream' && mode !== 'array')) {
  console.error('usage: load-rss.bench.ts FILE stream|array');
  process.exit(2);
}
const size = (await stat(file)).size;
(globalThis as { gc?: () => void }).gc?.();
const baseHeap = process.memoryUsage().heapUsed;
const baseRss = process.memoryUsage().rss;
let peakRss = baseRss;
const sample = () => {
  const rss = process.memoryUsage().rss;
  if (rss > peakRss) peakRss = rss;
};
const timer = setInterval(sample, 10);
const started = performance.now();
let questions = 0;
let profileItems = 0;
if (mode === 'stream') {
  for await (const q of streamQuestions(file)) {
    questions++;
    profileItems += q.profile.length;
    if (questions % 64 === 0) sample();
  }
} else {
  const all = await readQuestions(file);
  sample();
  questions = all.length;
  for (const q of all) profileItems += q.profile.length;
  // Keep `all` alive until the live heap is measured below.
  (globalThis as { loaded?: unknown }).loaded = all;
}
sample();
clearInterval(timer);
// With --expose-gc: the heap still in use once garbage is collected (what the loaded data really costs).
const gc = (globalThis as { gc?: () => void }).gc;
let liveHeapBytes: number | undefined;
if (gc) {
  gc();
  liveHeapBytes = process.memoryUsage().heapUsed - baseHeap;
}
console.log(
  JSON.stringify({
    mode,
    fileBytes: size,
    questions,
    profileItems,
    seconds: (performance.now() - started) / 1000,
    baseRss,
    peakRss,
    growthRatio: (peakRss - baseRss) / size,
    peakRatio: peakRss / size,
    liveHeapBytes,
    liveHeapRatio: liveHeapBytes === undefined ? undefined : liveHeapBytes / size,
  }),
);
