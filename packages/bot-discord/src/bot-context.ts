import { OppuError, type OppuService, type UserId } from '@oppu/core';
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotTask } from './bot-task.js';
import type { QueuedTraining } from './queued-training.js';
import type { RateLimiter } from './rate-limiter.js';

type MaybePromise<T> = T | Promise<T>;

/** Where per-member settings live (the `/collect` opt-in); the SQLite HistoryStore is one. */
export interface MemberSettingsStore {
  getSetting<T = unknown>(user: UserId, key: string): MaybePromise<T | undefined>;
  setSetting(user: UserId, key: string, value: unknown): MaybePromise<void>;
}

export type LogLevel = 'info' | 'warn' | 'error';
export type BotLogger = (level: LogLevel, message: string, error?: unknown) => void;

/** The setting key of the `/collect` opt-in. */
export const COLLECT_SETTING = 'discord.collect';

/** What every command handler gets from the bot. */
export interface BotContext {
  readonly service: OppuService;
  readonly settings: MemberSettingsStore;
  readonly task: BotTask;
  /** The message intents are on, so `/collect on` can work. */
  readonly collectEnabled: boolean;
  readonly maxAttachmentBytes: number;
  readonly progressIntervalMs: number;
  readonly forgetConfirmSeconds: number;
  readonly fetch: typeof globalThis.fetch;
  /** Aborted when the bot shuts down. */
  readonly shutdown: AbortSignal;
  /** The running or queued training job of each member, to cancel it (shutdown, /forget). */
  readonly trainings: Map<UserId, AbortController>;
  /** Cached `/collect` opt-ins, so a message does not cost a settings read. */
  readonly collecting: Map<UserId, boolean>;
  readonly limiter: RateLimiter;
  /** With a Redis URL: `/train` becomes an `@oppu/queue` job a worker trains. */
  readonly queued?: QueuedTraining;
  readonly log: BotLogger;
}

export type CommandHandler = (
  ctx: BotContext,
  interaction: ChatInputCommandInteraction,
  user: UserId,
) => Promise<void>;

/** Counts one use of `/command` by the member, or throws a clear `rate_limited` error. */
export function takeRate(ctx: BotContext, user: UserId, command: string): void {
  const check = ctx.limiter.take(user, command);
  if (check.ok) return;
  const rule = ctx.limiter.rule(command)!;
  const window =
    rule.windowSeconds >= 120 ? `${Math.round(rule.windowSeconds / 60)} minutes` : `${rule.windowSeconds} s`;
  throw new OppuError(
    'rate_limited',
    `Slow down: /${command} can be used ${rule.limit} time${rule.limit === 1 ? '' : 's'} per ${window} per member. Try again in ${check.retryAfterSeconds} s.`,
  );
}

/** The trimmed text of a required string option, or a clear error when it is empty or too long. */
export function textOption(interaction: ChatInputCommandInteraction, name: string, maxChars: number): string {
  const raw = interaction.options.getString(name, false);
  const text = raw?.trim() ?? '';
  if (text.length === 0) {
    throw new OppuError(
      'empty_text',
      `/${interaction.commandName} needs some text: type it in the \`${name}\` option (it was empty).`,
    );
  }
  if (text.length > maxChars) {
    throw new OppuError(
      'text_too_long',
      `/${interaction.commandName}: \`${name}\` is ${text.length} characters; the limit is ${maxChars}. Shorten it.`,
    );
  }
  return text;
}

/** Whether the member opted in to `/collect` (cached). */
export async function isCollecting(ctx: BotContext, user: UserId): Promise<boolean> {
  const cached = ctx.collecting.get(user);
  if (cached !== undefined) return cached;
  const on = (await ctx.settings.getSetting<boolean>(user, COLLECT_SETTING)) === true;
  ctx.collecting.set(user, on);
  return on;
}
