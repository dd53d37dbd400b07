import { OppuError, type OppuService, type UserId } from '@oppu/core';
import {
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Client,
  Events,
  GatewayIntentBits,
  type Interaction,
  type Message,
} from 'discord.js';
import {
  type BotContext,
  type BotLogger,
  type CommandHandler,
  isCollecting,
  type MemberSettingsStore,
} from './bot-context.js';
import { type BotTask, LAMP_7_BOT_TASK } from './bot-task.js';
import { COMMAND_NAMES } from './command-definitions.js';
import { ask } from './commands/ask.js';
import { collect } from './commands/collect.js';
import { exportAdapter } from './commands/export.js';
import { forget, forgetButton, isForgetButton } from './commands/forget.js';
import { importAdapter } from './commands/import.js';
import { profile } from './commands/profile.js';
import { remember } from './commands/remember.js';
import { train } from './commands/train.js';
import { memberUserId } from './member-user-id.js';
import { QueuedTraining } from './queued-training.js';
import { RateLimiter, type RateRule } from './rate-limiter.js';
import { respondPrivately } from './replies.js';

const HANDLERS: Readonly<Record<string, CommandHandler>> = {
  ask,
  remember,
  collect,
  train,
  profile,
  forget,
  export: exportAdapter,
  import: importAdapter,
};

/** Per-member limits of each command (a sliding window each). */
export const DEFAULT_RATE_LIMITS: Readonly<Record<string, RateRule>> = Object.freeze({
  ask: { limit: 6, windowSeconds: 60 },
  remember: { limit: 20, windowSeconds: 60 },
  collect: { limit: 10, windowSeconds: 60 },
  train: { limit: 4, windowSeconds: 3600 },
  profile: { limit: 10, windowSeconds: 60 },
  forget: { limit: 3, windowSeconds: 600 },
  export: { limit: 5, windowSeconds: 600 },
  import: { limit: 5, windowSeconds: 600 },
});

export interface OppuBotOptions {
  /** The per-user lifecycle (e.g. `createLocalOppu(...).service`). */
  readonly service: OppuService;
  /** Where the `/collect` opt-in is kept (e.g. `createLocalOppu(...).history`); `forget` removes it. */
  readonly settings: MemberSettingsStore;
  /** How Discord text maps onto the service's task (default: LaMP-7, rewrite in the member's voice). */
  readonly task?: BotTask;
  /** The message intents are enabled, so `/collect on` works (default false). */
  readonly collect?: boolean;
  /** Largest `/import` attachment and `/export` archive, in bytes (default 25 MiB). */
  readonly maxAttachmentBytes?: number;
  /** Per-member limits, merged over DEFAULT_RATE_LIMITS. */
  readonly rateLimits?: Readonly<Record<string, RateRule>>;
  /** Least time between two progress edits of a `/train` reply (default 1,500 ms). */
  readonly progressIntervalMs?: number;
  /** How long the `/forget` buttons work (default 60 s). */
  readonly forgetConfirmSeconds?: number;
  /** Used to download attachments (default: global fetch). */
  readonly fetch?: typeof globalThis.fetch;
  /**
   * `redis://host:port`: `/train` enqueues an `@oppu/queue` job for the member instead of training in this
   * process; workers sharing the bot's OPPU home train it (default: train in process).
   */
  readonly redisUrl?: string;
  /** The queue's name with `redisUrl` (default `oppu-discord`; the workers must use the same). */
  readonly queueName?: string;
  readonly log?: BotLogger;
}

const consoleLog: BotLogger = (level, message, error) => {
  const line = `[oppu-bot] ${level}: ${message}`;
  if (level === 'error') console.error(line, error ?? '');
  else if (level === 'warn') console.warn(line, error ?? '');
  else console.log(line);
};

/**
 * The Discord front of an OppuService: every member of a server is one oppu user (`g<guild>_m<member>`),
 * with their own history, profile and adapter. `attach(client)` listens for interactions (and, with
 * `collect`, messages); `shutdown()` cancels training, waits for the queue and for replies in flight.
 */
export class OppuBot {
  private readonly ctx: BotContext;
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private closing = false;

  constructor(options: OppuBotOptions) {
    const task = options.task ?? LAMP_7_BOT_TASK;
    if (task.taskId !== options.service.task.id) {
      throw new OppuError(
        'task_mismatch',
        `the bot's task mapping is for ${task.taskId} but the service runs ${options.service.task.id}; pass a BotTask for ${options.service.task.id} (option "task")`,
      );
    }
    this.ctx = {
      service: options.service,
      settings: options.settings,
      task,
      collectEnabled: options.collect ?? false,
      maxAttachmentBytes: options.maxAttachmentBytes ?? 25 * 1024 * 1024,
      progressIntervalMs: options.progressIntervalMs ?? 1500,
      forgetConfirmSeconds: options.forgetConfirmSeconds ?? 60,
      fetch: options.fetch ?? globalThis.fetch,
      shutdown: this.abort.signal,
      trainings: new Map(),
      collecting: new Map(),
      limiter: new RateLimiter({ ...DEFAULT_RATE_LIMITS, ...(options.rateLimits ?? {}) }),
      ...(options.redisUrl !== undefined
        ? { queued: new QueuedTraining(options.redisUrl, options.queueName) }
        : {}),
      log: options.log ?? consoleLog,
    };
  }

  /** The gateway intents the bot needs: Guilds always; the message intents only when collecting is on. */
  static intents(collect: boolean): GatewayIntentBits[] {
    return collect
      ? [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent]
      : [GatewayIntentBits.Guilds];
  }

  /** Listens to the client's interactions (and messages when collecting is enabled). */
  attach(client: Client): this {
    client.on(
      Events.InteractionCreate,
      (interaction) => void this.track(this.handleInteraction(interaction)),
    );
    if (this.ctx.collectEnabled) {
      client.on(Events.MessageCreate, (message) => void this.track(this.handleMessage(message)));
    }
    return this;
  }

  private track(work: Promise<void>): Promise<void> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
    return work;
  }

  /** Resolves once every interaction and message being handled is done. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async handleInteraction(interaction: Interaction): Promise<void> {
    if (!interaction.isRepliable()) return;
    const what = interaction.isChatInputCommand()
      ? `/${interaction.commandName}`
      : interaction.isButton()
        ? `button ${interaction.customId}`
        : `interaction type ${interaction.type}`;
    try {
      if (this.closing) {
        throw new OppuError('shutting_down', 'The bot is restarting; try again in a minute.');
      }
      if (!interaction.guildId) {
        throw new OppuError(
          'not_in_server',
          'oppu works inside servers: your history and adapter belong to you in one server. Use the commands there.',
        );
      }
      const user = memberUserId(interaction.guildId, interaction.user.id);
      if (interaction.isChatInputCommand()) await this.command(interaction, user);
      else if (interaction.isButton()) await this.button(interaction, user);
      else throw new OppuError('unsupported_interaction', 'oppu does not handle this kind of interaction.');
    } catch (error) {
      if (!(error instanceof OppuError)) this.ctx.log('error', `${what} failed`, error);
      const message =
        error instanceof OppuError
          ? error.message
          : `Something went wrong with ${what}. The error was logged for the bot operator.`;
      await respondPrivately(interaction, message).catch((e) =>
        this.ctx.log('warn', `could not report an error for ${what}`, e),
      );
    }
  }

  private async command(interaction: ChatInputCommandInteraction, user: UserId): Promise<void> {
    const handler = Object.hasOwn(HANDLERS, interaction.commandName)
      ? HANDLERS[interaction.commandName]
      : undefined;
    if (!handler) {
      throw new OppuError(
        'unknown_command',
        `Unknown command /${interaction.commandName}. oppu knows ${COMMAND_NAMES.map((n) => `/${n}`).join(', ')}; if one is missing, the operator should run deploy-commands.`,
      );
    }
    await handler(this.ctx, interaction, user);
  }

  private async button(interaction: ButtonInteraction, user: UserId): Promise<void> {
    if (isForgetButton(interaction.customId)) return forgetButton(this.ctx, interaction, user);
    throw new OppuError(
      'unknown_button',
      'This button is not one oppu knows (it may be from an older version).',
    );
  }

  /** Adds an opted-in member's own message in a server to their history. */
  async handleMessage(message: Message): Promise<void> {
    if (this.closing || !this.ctx.collectEnabled) return;
    if (!message.inGuild() || message.author.bot || message.webhookId || message.system) return;
    const text = message.content.trim();
    if (text.length === 0) return;
    const user = memberUserId(message.guildId, message.author.id);
    try {
      if (!(await isCollecting(this.ctx, user))) return;
      await this.ctx.service.addItems(user, [
        this.ctx.task.item(`m${message.id}`, text, message.createdAt.toISOString()),
      ]);
    } catch (error) {
      this.ctx.log(
        error instanceof OppuError ? 'warn' : 'error',
        `collecting message ${message.id} of ${user} failed`,
        error,
      );
    }
  }

  /**
   * Stops taking work, cancels queued and running training (nothing is stored from a cancelled job; each
   * member keeps their previous adapter), and waits for the service queue and for replies in flight.
   * The caller then destroys the client and closes the stores.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    this.abort.abort(new OppuError('shutting_down', 'the bot is shutting down'));
    await this.ctx.service.idle();
    await this.settled();
    await this.ctx.queued?.close();
  }
}
