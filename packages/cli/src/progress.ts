import type { ProgressListener } from '@oppu/core';
import cliProgress from 'cli-progress';
import type { CliContext } from './command.js';

/** How often a log (stderr that is not a terminal) gets a progress line. */
export const PROGRESS_LINE_MS = 15_000;

/**
 * A progress bar on stderr for long work, fed by the `onProgress` events every long oppu operation emits. When
 * stderr is not a terminal (a log file, CI), one plain line at most every `everyMs` instead (`label: 12/36 users
 * (33%), 95 s`), so that a long job in a log still shows it is moving. Silent with --quiet. Call `stop()` when
 * the work ends (or fails).
 */
export function progressBar(
  context: CliContext,
  label: string,
  unit = '',
  everyMs = PROGRESS_LINE_MS,
): { onProgress: ProgressListener; stop(): void } {
  if (context.quiet) return { onProgress: () => {}, stop: () => {} };
  if (!context.stderr.isTTY) return progressLines(context, label.trim(), unit, everyMs);
  const bar = new cliProgress.SingleBar(
    {
      stream: context.stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total}${unit} | eta {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress: (e) => {
      if (!started) {
        bar.start(e.total, e.done);
        started = true;
      } else {
        bar.setTotal(e.total);
        bar.update(e.done);
      }
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

function progressLines(
  context: CliContext,
  label: string,
  unit: string,
  everyMs: number,
): { onProgress: ProgressListener; stop(): void } {
  const t0 = performance.now();
  let last = t0;
  let latest: { done: number; total: number } | undefined;
  let printed: { done: number; total: number } | undefined;
  const line = (e: { done: number; total: number }) => {
    const pct = e.total > 0 ? ` (${Math.floor((100 * e.done) / e.total)}%)` : '';
    context.note(
      `${label}: ${e.done}/${e.total}${unit}${pct}, ${Math.round((performance.now() - t0) / 1000)} s`,
    );
    printed = e;
  };
  return {
    onProgress: (e) => {
      latest = { done: e.done, total: e.total };
      const now = performance.now();
      if (now - last >= everyMs) {
        last = now;
        line(latest);
      }
    },
    stop: () => {
      // The last state once, if the job moved since the last line (a short job prints nothing).
      if (latest && printed && (latest.done !== printed.done || latest.total !== printed.total)) line(latest);
    },
  };
}
