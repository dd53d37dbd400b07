/**
 * `oppu <args>` as the command line runs it (the same `main`, the same argument parsing and engine), for
 * `run.ts`. Only stderr differs: it is handed to `main` as a terminal, so `oppu run` draws its progress bars,
 * and each bar is turned into a line `@@progress <ms> <label> <done> <total>` (on a change of label, on its
 * last step, and at most once a second otherwise) that tells the bench which stage the work is in. Notes and
 * errors pass through unchanged. The last line is `@@end <ms> <exit code> <peak RSS in KB>`.
 *
 *   node --conditions source --import tsx bench/real-data/cli-child.ts run --task LaMP_6 ...
 */
import { main } from '../../packages/cli/src/main.js';

// Deep enough to reach oppu's own frames under tfjs and wasm ones when something fails (V8 keeps 10).
Error.stackTraceLimit = 60;
const started = performance.now();
const ms = () => Math.round(performance.now() - started);
const real = process.stderr;

// Progress bars: `<label> [=====---] 40% | 4/10 | eta 3s` after the cursor codes are taken out.
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape codes are what is being removed
const ESCAPES = /\x1B\[[0-9;?]*[A-Za-z]|\x1B[78]/g;
const BAR = /^\s*(.+?)\s*\[[^\]]*\]\s*\d+%\s*\|\s*(\d+)\/(\d+)/;
let label = '';
let done = '';
let lastEmit = 0;

function onBar(text: string): void {
  const m = BAR.exec(text.replace(ESCAPES, ''));
  if (!m) return;
  const [, l, d, t] = m as unknown as [string, string, string, string];
  if (l === label && d === done) return;
  const now = ms();
  if (l !== label || d === t || now - lastEmit >= 1000) {
    real.write(`@@progress\t${now}\t${l}\t${d}\t${t}\n`);
    lastEmit = now;
  }
  label = l;
  done = d;
}

type Callback = (error?: Error | null) => void;
const terminal = {
  isTTY: true,
  columns: 160,
  rows: 40,
  write(chunk: string | Uint8Array, encoding?: BufferEncoding | Callback, callback?: Callback): boolean {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.includes('\x1B') || BAR.test(text)) onBar(text);
    else real.write(text);
    (typeof encoding === 'function' ? encoding : callback)?.();
    return true;
  },
  on() {
    return terminal;
  },
  once() {
    return terminal;
  },
  off() {
    return terminal;
  },
  removeListener() {
    return terminal;
  },
};

function end(code: number): never {
  real.write(`@@end\t${ms()}\t${code}\t${process.resourceUsage().maxRSS}\n`);
  process.exit(code);
}

// Failures outside the awaited work (a wasm trap in a callback, a stray rejection) still end with @@end.
const fatal = (error: unknown) => {
  const e = error instanceof Error ? error : new Error(String(error));
  real.write(`@@fatal\t${ms()}\t${`${e.name}: ${e.message}`.replace(/\s+/g, ' ')}\n${e.stack ?? ''}\n`);
  end(1);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

end(
  await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: terminal as unknown as typeof process.stderr,
  }),
);
