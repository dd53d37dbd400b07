#!/usr/bin/env node
import { OppuError } from '@oppu/core';
import { parseOptions, USAGE } from './options.js';
import { startPlayground } from './start-playground.js';

/** `pnpm start`: the playground on http://127.0.0.1:4319 (see --help). */
async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const log = (line: string) => process.stdout.write(`playground: ${line}\n`);
  log(`data in ${options.home}/playground; loading the base model…`);
  const running = await startPlayground({ ...options, log });
  log(`open ${running.openUrl}`);
  running.seeded.catch((e: Error) => log(`could not create the demo users: ${e.message}`));
  let closing = false;
  const stop = (signal: string) => {
    if (closing) process.exit(1);
    closing = true;
    log(`${signal}: stopping (running trainings are cancelled; stored adapters are kept)…`);
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`playground: ${message}\n`);
  if (error instanceof OppuError && error.code === 'base_model_missing') {
    process.stderr.write(
      'playground: to start with another base model folder: pnpm start -- --base-model DIR\n',
    );
  }
  process.exit(1);
});
