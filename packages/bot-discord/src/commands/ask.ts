import type { Answer } from '@oppu/core';
import { MessageFlags } from 'discord.js';
import { type CommandHandler, takeRate, textOption } from '../bot-context.js';
import { MAX_ASK_CHARS } from '../command-definitions.js';
import { clip, NO_MENTIONS } from '../replies.js';

/** `/ask text [private]`: answered with the member's adapter, memory and profile (the base model when untrained). */
export const ask: CommandHandler = async (ctx, interaction, user) => {
  const text = textOption(interaction, 'text', MAX_ASK_CHARS);
  const hidden = interaction.options.getBoolean('private') ?? false;
  takeRate(ctx, user, 'ask');
  await interaction.deferReply(hidden ? { flags: MessageFlags.Ephemeral } : {});
  const answer = await ctx.service.ask(user, ctx.task.question(text));
  await interaction.editReply({ content: clip(askReply(answer)), allowedMentions: NO_MENTIONS });
};

/**
 * The reply to `/ask`: the answer; for a label task (the service answers from the task's labels) the three most
 * probable labels with their probabilities; then which adapter and method answered.
 */
export function askReply(answer: Answer): string {
  const said = answer.text.length > 0 ? answer.text : '(the model returned an empty answer)';
  const lines = [said];
  if (answer.probabilities) {
    const top = Object.entries(answer.probabilities)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([label, p]) => `${label} ${Math.round(p * 100)}%`);
    lines.push(`-# ${top.join(' · ')}`);
  }
  lines.push(
    answer.adapterVersion !== undefined
      ? `-# your adapter v${answer.adapterVersion} · ${answer.method} · ${answer.retrieved.length} of your items recalled`
      : `-# base model: you have no adapter here yet. To personalize, /remember a few things you wrote (or /collect on), then /train.`,
  );
  return lines.join('\n');
}
