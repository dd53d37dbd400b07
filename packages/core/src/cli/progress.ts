import cliProgress from 'cli-progress';
import type { ProgressListener } from '../contracts/progress.js';
import type { CliContext } from './command.js';

/**
 * A progress bar on stderr for long work, fed by the `onProgress` events every long oppu operation emits. Silent
 * with --quiet and when stderr is not a terminal. Call `stop()` when the work ends (or fails).
 */
export function progressBar(
  context: CliContext,
  label: string,
  unit = '',
): { onProgress: ProgressListener; stop(): void } {
  if (context.quiet || !context.stderr.isTTY) return { onProgress: () => {}, stop: () => {} };
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
