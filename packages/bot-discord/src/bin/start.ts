#!/usr/bin/env node
import { OppuError } from '@oppu/core';
import { readBotConfig } from '../config.js';
import { startBot } from '../start-bot.js';

/** `oppu-discord`: runs the bot until SIGINT/SIGTERM, then stops gracefully (a second signal exits at once). */
async function main(): Promise<void> {
  const config = readBotConfig(process.env, 'start');
  const running = await startBot(config);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      console.error(`${signal} again: exiting now (cancelled training keeps each member's previous adapter)`);
      process.exit(1);
    }
    console.log(`${signal}: cancelling training, waiting for queued jobs and replies, closing stores…`);
    running.stop().then(
      () => process.exit(0),
      (error) => {
        console.error('shutdown failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

main().catch((error) => {
  console.error(
    error instanceof OppuError || error instanceof Error ? `oppu-discord: ${error.message}` : error,
  );
  process.exit(1);
});
