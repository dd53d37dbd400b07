import { OppuError } from '@oppu/core';
import { redisConnection } from './queued-training.js';

/** Everything the bot reads from the environment. */
export interface BotConfig {
  /** `DISCORD_TOKEN`: the bot token (Developer Portal, your application, Bot, Reset Token). */
  readonly token: string;
  /** `DISCORD_CLIENT_ID`: the application id (Developer Portal, General Information). */
  readonly clientId?: string;
  /** `DISCORD_GUILD_ID`: register the commands in this one server only (they appear at once). */
  readonly guildId?: string;
  /** `OPPU_HOME`: where histories, adapters and memory are stored (default `./.oppu`). */
  readonly home?: string;
  /** `OPPU_BASE_MODEL_DIR`: the base model folder (default: the embedded tiny model). */
  readonly baseModelDir?: string;
  /** `OPPU_DISCORD_COLLECT=on`: ask for the message intents so opted-in members' messages can be collected. */
  readonly collect: boolean;
  /** `OPPU_DISCORD_MAX_ATTACHMENT_MB` (default 25): largest /import attachment and /export archive. */
  readonly maxAttachmentBytes: number;
  /** `OPPU_TRAIN_MAX_STEPS`: optimizer steps per training job (default: the epochs of OPPU_TRAINING). */
  readonly trainMaxSteps?: number;
  /** `OPPU_REDIS_URL` (`redis://host:port`): `/train` goes to `@oppu/queue` workers instead of this process. */
  readonly redisUrl?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const SNOWFLAKE = /^\d{17,20}$/;

function missing(name: string, what: string): OppuError {
  return new OppuError('config_missing', `${name} is not set: ${what}`);
}

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v && v.length > 0 ? v : undefined;
}

function snowflake(env: Env, name: string, where: string): string | undefined {
  const v = value(env, name);
  if (v !== undefined && !SNOWFLAKE.test(v)) {
    throw new OppuError(
      'config_invalid',
      `${name}=${JSON.stringify(v)} is not a Discord id (17-20 digits); copy it from ${where}`,
    );
  }
  return v;
}

function positive(env: Env, name: string, integer: boolean): number | undefined {
  const v = value(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0 && (!integer || Number.isInteger(n)))) {
    throw new OppuError(
      'config_invalid',
      `${name}=${JSON.stringify(v)} must be a positive ${integer ? 'integer' : 'number'}`,
    );
  }
  return n;
}

/**
 * Reads the configuration; `need` names what the caller cannot do without (`start` needs the token,
 * `deploy-commands` the token and the client id). A missing or malformed variable is an OppuError naming it.
 */
export function readBotConfig(env: Env = process.env, need: 'start' | 'deploy' = 'start'): BotConfig {
  const token = value(env, 'DISCORD_TOKEN');
  if (token === undefined) {
    throw missing(
      'DISCORD_TOKEN',
      'set it to your bot token (Discord Developer Portal > your application > Bot > Reset Token), e.g. `export DISCORD_TOKEN=...`',
    );
  }
  const clientId = snowflake(
    env,
    'DISCORD_CLIENT_ID',
    'Developer Portal > your application > General Information > Application ID',
  );
  if (need === 'deploy' && clientId === undefined) {
    throw missing(
      'DISCORD_CLIENT_ID',
      'set it to the Application ID (Discord Developer Portal > your application > General Information)',
    );
  }
  const guildId = snowflake(
    env,
    'DISCORD_GUILD_ID',
    'Discord (Developer Mode on) > right-click the server > Copy Server ID',
  );
  const collectRaw = (value(env, 'OPPU_DISCORD_COLLECT') ?? 'off').toLowerCase();
  if (!['on', 'off', 'true', 'false', '1', '0'].includes(collectRaw)) {
    throw new OppuError(
      'config_invalid',
      `OPPU_DISCORD_COLLECT=${JSON.stringify(collectRaw)} must be on or off`,
    );
  }
  const maxMb = positive(env, 'OPPU_DISCORD_MAX_ATTACHMENT_MB', false) ?? 25;
  const home = value(env, 'OPPU_HOME');
  const baseModelDir = value(env, 'OPPU_BASE_MODEL_DIR');
  const trainMaxSteps = positive(env, 'OPPU_TRAIN_MAX_STEPS', true);
  const redisUrl = value(env, 'OPPU_REDIS_URL');
  if (redisUrl !== undefined) redisConnection(redisUrl); // refuse a bad URL at start, not at the first /train
  return {
    token,
    collect: ['on', 'true', '1'].includes(collectRaw),
    maxAttachmentBytes: Math.floor(maxMb * 1024 * 1024),
    ...(clientId !== undefined ? { clientId } : {}),
    ...(guildId !== undefined ? { guildId } : {}),
    ...(home !== undefined ? { home } : {}),
    ...(baseModelDir !== undefined ? { baseModelDir } : {}),
    ...(trainMaxSteps !== undefined ? { trainMaxSteps } : {}),
    ...(redisUrl !== undefined ? { redisUrl } : {}),
  };
}
