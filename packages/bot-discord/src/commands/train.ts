import { type AdapterMetadata, OppuError, type ProgressEvent } from '@oppu/core';
import { MessageFlags } from 'discord.js';
import { type CommandHandler, takeRate } from '../bot-context.js';
import { LiveReply } from '../live-reply.js';
import { progressLine } from '../progress-bar.js';

function changed(meta: AdapterMetadata, previous: AdapterMetadata | undefined, fresh: boolean): string {
  const t = meta.training ?? {};
  const lines = [
    `Trained your adapter **v${meta.version}**${previous && !fresh ? ` (continued from v${previous.version})` : ' (from scratch)'}.`,
  ];
  const items = t.items ?? 0;
  const before = previous?.training?.items;
  const newer = before !== undefined ? items - before : items;
  lines.push(
    `- ${items} item${items === 1 ? '' : 's'} of yours${before !== undefined ? ` (${newer >= 0 ? `+${newer}` : newer} since v${previous!.version})` : ''}`,
  );
  if (t.steps !== undefined) lines.push(`- ${t.steps} steps in ${(t.seconds ?? 0).toFixed(1)} s`);
  if (t.finalLoss !== undefined) {
    const was = previous?.training?.finalLoss;
    lines.push(
      `- final loss ${t.finalLoss.toFixed(3)}${was !== undefined ? ` (v${previous!.version}: ${was.toFixed(3)})` : ''}`,
    );
  }
  lines.push('/ask now answers with it; /export gives you the archive.');
  return lines.join('\n');
}

/** `/train [fresh]`: queues the member's training; the private reply shows a live bar and ends with what changed. */
export const train: CommandHandler = async (ctx, interaction, user) => {
  const fresh = interaction.options.getBoolean('fresh') ?? false;
  if (ctx.trainings.has(user) || ctx.service.pendingJobs(user) > 0) {
    throw new OppuError('train_pending', 'Your adapter is already training; wait for that job to finish.');
  }
  // Reserve the member's slot before anything async, so two /train at once cannot both queue a job.
  const controller = new AbortController();
  ctx.trainings.set(user, controller);
  try {
    const items = await ctx.service.items(user);
    if (items.length === 0) {
      throw new OppuError(
        'no_history',
        'You have nothing to train on yet: /remember a few things you wrote (or /collect on), then /train.',
      );
    }
    takeRate(ctx, user, 'train');
    const versions = await ctx.service.versions(user);
    const previous = versions[versions.length - 1];
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const live = new LiveReply(
      (content) => interaction.editReply({ content }),
      ctx.progressIntervalMs,
      (error) => ctx.log('warn', `progress edit for ${user} failed`, error),
    );
    live.update(`Queued: training on your ${items.length} item${items.length === 1 ? '' : 's'}…`);
    try {
      const run = {
        mode: fresh ? ('fresh' as const) : ('incremental' as const),
        signal: AbortSignal.any([controller.signal, ctx.shutdown]),
        onProgress: (event: ProgressEvent) => live.update(`Training your adapter…\n${progressLine(event)}`),
      };
      const meta = ctx.queued
        ? await ctx.queued.train(ctx.service, user, run)
        : await ctx.service.train(user, run);
      await live.finish(changed(meta, previous, fresh));
    } catch (error) {
      const why =
        error instanceof OppuError && error.code === 'aborted'
          ? ctx.shutdown.aborted
            ? 'Training was cancelled because the bot is shutting down; your previous adapter is kept. Run /train again later.'
            : 'Training was cancelled; your previous adapter is kept.'
          : error instanceof OppuError
            ? error.message
            : undefined;
      if (why === undefined) ctx.log('error', `training of ${user} failed`, error);
      await live.finish(
        why ?? 'Training failed; your previous adapter is kept. The error was logged for the bot operator.',
      );
    }
  } finally {
    if (ctx.trainings.get(user) === controller) ctx.trainings.delete(user);
  }
};
