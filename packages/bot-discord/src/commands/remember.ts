import { MessageFlags } from 'discord.js';
import { type CommandHandler, takeRate, textOption } from '../bot-context.js';
import { MAX_REMEMBER_CHARS } from '../command-definitions.js';
import { NO_MENTIONS } from '../replies.js';

/** `/remember text`: one history item, id'd by the interaction so a retried delivery is not stored twice. */
export const remember: CommandHandler = async (ctx, interaction, user) => {
  const text = textOption(interaction, 'text', MAX_REMEMBER_CHARS);
  takeRate(ctx, user, 'remember');
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const item = ctx.task.item(`r${interaction.id}`, text, interaction.createdAt.toISOString());
  const count = await ctx.service.addItems(user, [item]);
  const versions = await ctx.service.versions(user);
  const next =
    versions.length > 0 ? 'Run /train to update your adapter with it.' : 'Run /train to build your adapter.';
  await interaction.editReply({
    content: `Remembered. You have ${count} item${count === 1 ? '' : 's'} in your history here. ${next}`,
    allowedMentions: NO_MENTIONS,
  });
};
