#!/usr/bin/env node
import { readBotConfig } from '../config.js';
import { deployCommands } from '../deploy-commands.js';

/** `oppu-discord-deploy`: registers the slash commands (in DISCORD_GUILD_ID when set, else globally). */
try {
  const result = await deployCommands(readBotConfig(process.env, 'deploy'));
  console.log(
    `registered ${result.names.length} commands (${result.scope}): ${result.names.map((n) => `/${n}`).join(' ')}`,
  );
  if (result.scope === 'global')
    console.log('global commands can take up to an hour to appear in every server');
} catch (error) {
  console.error(`deploy-commands: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
