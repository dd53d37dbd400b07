import { createLocalOppu, type LocalOppu, type LocalOppuOptions } from '@oppu/node';
import { Client, type ClientOptions, Events } from 'discord.js';
import type { BotConfig } from './config.js';
import { OppuBot, type OppuBotOptions } from './oppu-bot.js';

export interface RunningBot {
  readonly client: Client;
  readonly bot: OppuBot;
  readonly oppu: LocalOppu;
  /** Graceful stop: cancels training, waits for the queue and replies, disconnects, closes the stores. */
  stop(): Promise<void>;
}

export interface StartBotOptions {
  /** Extra discord.js client options (e.g. `rest.api` in tests). */
  readonly client?: Partial<ClientOptions>;
  /** Extra bot options (rate limits, progress interval, logger). */
  readonly bot?: Partial<Omit<OppuBotOptions, 'service' | 'settings'>>;
  /** Extra options of the local service (summarizer, limits, training settings, engine log). */
  readonly oppu?: Partial<Omit<LocalOppuOptions, 'home' | 'baseModelDir' | 'task'>>;
  /** Log in to the gateway (default true; tests dispatch payloads themselves). */
  readonly login?: boolean;
}

/** Wires the local OPPU service (LaMP-7) to a discord.js client and logs in. */
export async function startBot(config: BotConfig, options: StartBotOptions = {}): Promise<RunningBot> {
  const training = {
    ...(options.oppu?.training ?? {}),
    ...(config.trainMaxSteps !== undefined ? { maxSteps: config.trainMaxSteps } : {}),
  };
  const oppu = await createLocalOppu({
    ...options.oppu,
    task: 'LaMP_7',
    ...(config.home !== undefined ? { home: config.home } : {}),
    ...(config.baseModelDir !== undefined ? { baseModelDir: config.baseModelDir } : {}),
    ...(Object.keys(training).length > 0 ? { training } : {}),
  });
  const client = new Client({ ...options.client, intents: OppuBot.intents(config.collect) });
  const bot = new OppuBot({
    ...options.bot,
    service: oppu.service,
    settings: oppu.history,
    collect: config.collect,
    maxAttachmentBytes: config.maxAttachmentBytes,
    ...(config.redisUrl !== undefined ? { redisUrl: config.redisUrl } : {}),
  }).attach(client);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      try {
        await bot.shutdown();
      } finally {
        await client.destroy();
        await oppu.close();
      }
    })();
    return stopping;
  };
  client.once(Events.ClientReady, (ready) => {
    const log =
      options.bot?.log ?? ((_level: string, message: string) => console.log(`[oppu-bot] ${message}`));
    log(
      'info',
      `logged in as ${ready.user.tag} in ${ready.guilds.cache.size} server(s); data in ${oppu.home}; /collect ${config.collect ? 'enabled' : 'disabled'}`,
    );
  });
  if (options.login ?? true) {
    try {
      await client.login(config.token);
    } catch (error) {
      await stop();
      throw explainLoginError(error, config.collect);
    }
  }
  return { client, bot, oppu, stop };
}

function explainLoginError(error: unknown, collect: boolean): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/disallowed intents/i.test(message)) {
    return new Error(
      collect
        ? 'Discord refused the Message Content intent: enable "Message Content Intent" (and keep Server Members off) under Developer Portal > your application > Bot > Privileged Gateway Intents, or set OPPU_DISCORD_COLLECT=off.'
        : `Discord refused the gateway intents (${message}).`,
      { cause: error },
    );
  }
  if (/invalid token|TokenInvalid/i.test(message)) {
    return new Error(
      'DISCORD_TOKEN was refused by Discord: reset it under Developer Portal > your application > Bot and set it again.',
      {
        cause: error,
      },
    );
  }
  return error instanceof Error ? error : new Error(message);
}
