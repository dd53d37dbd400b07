export { checkDeclaredSize, type DownloadOptions, downloadAttachment } from './attachment-download.js';
export { type BotLogger, COLLECT_SETTING, type LogLevel, type MemberSettingsStore } from './bot-context.js';
export { type BotTask, LAMP_7_BOT_TASK } from './bot-task.js';
export {
  COMMAND_DEFINITIONS,
  COMMAND_NAMES,
  MAX_ASK_CHARS,
  MAX_REMEMBER_CHARS,
} from './command-definitions.js';
export { type BotConfig, readBotConfig } from './config.js';
export { type DeployResult, deployCommands } from './deploy-commands.js';
export { memberUserId } from './member-user-id.js';
export { DEFAULT_RATE_LIMITS, OppuBot, type OppuBotOptions } from './oppu-bot.js';
export { progressBar, progressLine } from './progress-bar.js';
export { BOT_QUEUE_NAME, QueuedTraining, redisConnection } from './queued-training.js';
export { type RateCheck, RateLimiter, type RateRule } from './rate-limiter.js';
export { type RunningBot, type StartBotOptions, startBot } from './start-bot.js';
