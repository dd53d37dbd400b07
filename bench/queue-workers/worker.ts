/**
 * One training worker process, as a deployment would run it (one per machine or per core): takes jobs from the
 * queue on Redis and trains them with `createLocalOppu` over a shared OPPU home. Used by `run.ts` and by
 * tests/queue-workers.test.ts. Prints `ready` when it takes jobs; appends every worker event as a JSON line to
 * `--events` (if given).
 *
 *   node --conditions source --import tsx bench/queue-workers/worker.ts --port 6379 --home ./.oppu \
 *     [--model DIR] [--max-steps N] [--epochs N] [--batch-size N] [--lock-ms 30000] [--events events.jsonl] \
 *     [--die-after-store]
 *
 * `--die-after-store` (tests only): SIGKILLs this process right after it stores its first adapter version, before
 * the job is marked complete: the retried job must find that version instead of training a second one.
 */
import { appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { AdapterStore } from '@oppu/core';
import { FsAdapterStore } from '@oppu/node';
import { startLocalTrainingWorker } from '@oppu/queue';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    home: { type: 'string' },
    model: { type: 'string' },
    task: { type: 'string', default: 'LaMP_7' },
    'max-steps': { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    'lock-ms': { type: 'string', default: '30000' },
    events: { type: 'string' },
    'die-after-store': { type: 'boolean', default: false },
  },
});
if (!values.port || !values.home) {
  console.error('worker.ts: --port (Redis) and --home (the shared OPPU home) are required');
  process.exit(2);
}
const home = resolve(values.home);
const lockMs = Number(values['lock-ms']);

let adapters: AdapterStore = new FsAdapterStore({ root: join(home, 'adapters') });
if (values['die-after-store']) {
  const inner = adapters;
  adapters = Object.assign(Object.create(inner) as AdapterStore, {
    put: async (...args: Parameters<AdapterStore['put']>) => {
      const meta = await inner.put(...args);
      process.kill(process.pid, 'SIGKILL'); // the version is stored; the job is not yet marked complete
      return meta;
    },
  });
}

// OPPU's training recipe (OPPU_TRAINING) unless overridden.
const training = {
  ...(values['max-steps'] ? { maxSteps: Number(values['max-steps']) } : {}),
  ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
  ...(values['batch-size'] ? { batchSize: Number(values['batch-size']) } : {}),
};
const local = await startLocalTrainingWorker({
  connection: { host: values.host, port: Number(values.port) },
  userLockMs: lockMs,
  jobLockMs: lockMs,
  stalledIntervalMs: Math.max(500, Math.round(lockMs / 3)),
  busyRetryMs: 200,
  progressEveryMs: 100,
  onEvent: (event) => {
    if (values.events) appendFileSync(values.events, `${JSON.stringify(event)}\n`);
  },
  oppu: {
    home,
    adapters,
    task: values.task as 'LaMP_7',
    ...(values.model ? { baseModelDir: values.model } : {}),
    training,
    summarizer: 'none',
    onLog: () => {},
  },
});
console.log('ready');
const stop = async () => {
  await local.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
