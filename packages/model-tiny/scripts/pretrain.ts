/**
 * `pnpm --filter @oppu/model-tiny pretrain`: pretrains the embedded base model and rewrites model/ and
 * MODEL_CARD.md. Options: --steps N --long-steps N (override the recipe, for trials), --test-tokens N,
 * --render-card (only re-render MODEL_CARD.md from model/training_report.json).
 * Ctrl-C saves a checkpoint (.cache/checkpoint) and stops; running the command again resumes from it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileAtomicSync } from '@oppu/core';
import cliProgress from 'cli-progress';
import { renderModelCard } from '../src/pretrain/model-card.js';
import { TINY_RECIPE } from '../src/pretrain/recipe.js';
import { runPretraining } from '../src/pretrain/run-pretraining.js';
import type { TrainingReport } from '../src/pretrain/training-report.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    steps: { type: 'string' },
    'long-steps': { type: 'string' },
    'test-tokens': { type: 'string' },
    'model-dir': { type: 'string' },
    'render-card': { type: 'boolean' },
  },
});
if (values['render-card']) {
  const report = JSON.parse(
    readFileSync(join(root, 'model', 'training_report.json'), 'utf8'),
  ) as TrainingReport;
  writeFileAtomicSync(join(root, 'MODEL_CARD.md'), renderModelCard(report));
  formatCard();
  console.log('pretrain: MODEL_CARD.md re-rendered from model/training_report.json');
  process.exit(0);
}

/** The repository's formatter (biome) pads the card's tables, so the lint stays clean; skipped if absent. */
function formatCard(): void {
  try {
    execFileSync('biome', ['format', '--write', join(root, 'MODEL_CARD.md')], { stdio: 'ignore' });
  } catch {
    console.log('pretrain: biome not found; MODEL_CARD.md left unformatted (run `npx biome format --write`)');
  }
}
const int = (name: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`pretrain: --${name} must be a whole number, got "${v}"`);
    process.exit(2);
  }
  return n;
};
const steps = int('steps', values.steps);
const longSteps = int('long-steps', values['long-steps']);
const testTokens = int('test-tokens', values['test-tokens']);
const recipe = {
  ...TINY_RECIPE,
  ...(steps !== undefined ? { steps } : {}),
  ...(longSteps !== undefined ? { longSteps } : {}),
};
const custom = steps !== undefined || longSteps !== undefined || values['model-dir'] !== undefined;

const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts += 1;
  if (interrupts > 1) {
    console.error('\npretrain: second Ctrl-C, exiting without a checkpoint');
    process.exit(130);
  }
  console.error('\npretrain: Ctrl-C, saving a checkpoint after this step (Ctrl-C again to quit now)');
  controller.abort();
});

const bar = new cliProgress.SingleBar(
  {
    format:
      '{phase} [{bar}] {value}/{total} steps | loss {loss} | {tps} tok/s | eta {eta_formatted} {message}',
    hideCursor: true,
    etaBuffer: 20,
    noTTYOutput: true,
    notTTYSchedule: 30_000,
  },
  cliProgress.Presets.shades_classic,
);
let started = false;
let last = { done: 0, payload: { phase: 'pretrain', loss: '-', tps: '-', message: '' } };
const log = (line: string) => {
  if (started) bar.stop();
  console.log(line);
  if (started) bar.start(bar.getTotal(), last.done, last.payload);
};

const report = await runPretraining({
  recipe,
  modelDir: values['model-dir'] ?? join(root, 'model'),
  modelCardPath: custom ? null : join(root, 'MODEL_CARD.md'),
  cacheDir: join(root, '.cache'),
  command: `pnpm --filter @oppu/model-tiny pretrain${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
  signal: controller.signal,
  ...(testTokens !== undefined ? { testTokenLimit: testTokens } : {}),
  log,
  onProgress: (e) => {
    const payload = {
      phase: e.phase,
      loss: e.loss?.toFixed(3) ?? '-',
      tps: e.tokensPerSecond?.toFixed(0) ?? '-',
      message: e.message ?? '',
    };
    last = { done: e.done, payload };
    if (!started) {
      bar.start(e.total, e.done, payload);
      started = true;
    } else bar.update(e.done, payload);
  },
});
if (started) bar.stop();
if (report && !custom) formatCard();
if (!report) {
  console.log('pretrain: stopped; run the same command again to resume');
  process.exit(130);
}
console.log(
  `pretrain: done in ${(report.wallSeconds / 60).toFixed(1)} min; test ppl ${Math.exp(report.test.modelCrossEntropy).toFixed(1)} ` +
    `(trigram ${Math.exp(report.test.trigramCrossEntropy).toFixed(1)})`,
);
