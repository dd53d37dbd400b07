import { OppuError, type UserId } from '@oppu/core';
import { ActionRowBuilder, ButtonBuilder, type ButtonInteraction, ButtonStyle } from 'discord.js';
import { type BotContext, type CommandHandler, takeRate } from '../bot-context.js';
import { privately } from '../replies.js';

const PREFIX = 'oppu:forget:';

/** `/forget`: asks for confirmation with buttons that only this member can use, for a short while. */
export const forget: CommandHandler = async (ctx, interaction, user) => {
  takeRate(ctx, user, 'forget');
  const expires = Date.now() + ctx.forgetConfirmSeconds * 1000;
  const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder()
      .setCustomId(`${PREFIX}confirm:${user}:${expires}`)
      .setLabel('Delete everything')
      .setStyle(ButtonStyle.Danger),
    new ButtonBuilder()
      .setCustomId(`${PREFIX}cancel:${user}:${expires}`)
      .setLabel('Cancel')
      .setStyle(ButtonStyle.Secondary),
  );
  await interaction.reply({
    ...privately(
      `Delete every adapter version, history item, memory entry, profile and setting of yours in this server? This cannot be undone (/export first to keep your adapter). The buttons work for ${ctx.forgetConfirmSeconds} s.`,
    ),
    components: [row],
  });
};

export function isForgetButton(customId: string): boolean {
  return customId.startsWith(PREFIX);
}

/** The confirmation buttons of `/forget`. */
export async function forgetButton(
  ctx: BotContext,
  interaction: ButtonInteraction,
  user: UserId,
): Promise<void> {
  const [action, owner, expires] = interaction.customId.slice(PREFIX.length).split(':');
  if (owner !== user) {
    throw new OppuError(
      'not_your_button',
      'This button belongs to someone else’s /forget; run /forget yourself.',
    );
  }
  if (action === 'cancel') {
    await interaction.update({ content: 'Nothing was deleted.', components: [] });
    return;
  }
  if (action !== 'confirm') throw new OppuError('unknown_button', 'This button is not one oppu knows.');
  if (!(Number(expires) >= Date.now())) {
    await interaction.update({
      content: 'This confirmation expired; nothing was deleted. Run /forget again.',
      components: [],
    });
    return;
  }
  await interaction.update({ content: 'Deleting everything of yours in this server…', components: [] });
  ctx.trainings.get(user)?.abort();
  const [items, versions] = await Promise.all([ctx.service.items(user), ctx.service.versions(user)]);
  await ctx.service.forget(user);
  ctx.collecting.delete(user);
  const left = (await ctx.service.items(user)).length + (await ctx.service.versions(user)).length;
  if (left > 0 || (await ctx.service.profile(user)) !== undefined) {
    throw new OppuError(
      'forget_incomplete',
      'Some of your data could not be deleted; please run /forget again.',
    );
  }
  await interaction.editReply({
    content: `Done: deleted ${items.length} history item${items.length === 1 ? '' : 's'}, ${versions.length} adapter version${versions.length === 1 ? '' : 's'}, your memory, profile and settings. Nothing of yours is left in this server.`,
    components: [],
  });
}
