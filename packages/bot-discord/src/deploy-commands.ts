import { REST, type RESTOptions, Routes } from 'discord.js';
import { COMMAND_DEFINITIONS } from './command-definitions.js';
import type { BotConfig } from './config.js';

export interface DeployResult {
  /** `guild <id>` or `global`. */
  readonly scope: string;
  readonly names: readonly string[];
}

/**
 * Registers the slash commands: in one server when `guildId` is set (they appear at once), else globally
 * (Discord may take up to an hour to show them everywhere). Replaces the application's previous set.
 */
export async function deployCommands(
  config: Pick<BotConfig, 'token' | 'clientId' | 'guildId'>,
  rest: Partial<RESTOptions> = {},
): Promise<DeployResult> {
  if (!config.clientId) throw new Error('deployCommands: clientId is required (DISCORD_CLIENT_ID)');
  const client = new REST(rest).setToken(config.token);
  const route = config.guildId
    ? Routes.applicationGuildCommands(config.clientId, config.guildId)
    : Routes.applicationCommands(config.clientId);
  const registered = (await client.put(route, { body: COMMAND_DEFINITIONS })) as { name: string }[];
  return {
    scope: config.guildId ? `guild ${config.guildId}` : 'global',
    names: registered.map((c) => c.name),
  };
}
