import { OppuError } from '@oppu/core';
import { MessageFlags } from 'discord.js';
import { checkDeclaredSize, downloadAttachment } from '../attachment-download.js';
import { type CommandHandler, takeRate } from '../bot-context.js';

/**
 * `/import archive`: the attachment is size-checked before download, cut off if it sends more than it
 * declared, and validated against the base model in use before it replaces the member's adapters.
 */
export const importAdapter: CommandHandler = async (ctx, interaction, user) => {
  const attachment = interaction.options.getAttachment('archive', false);
  if (!attachment) {
    throw new OppuError(
      'missing_attachment',
      '/import needs the .zip from /export attached in the `archive` option.',
    );
  }
  const name = `\`${attachment.name}\``;
  checkDeclaredSize(attachment.size, ctx.maxAttachmentBytes, name);
  takeRate(ctx, user, 'import');
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const bytes = await downloadAttachment(attachment.url, {
    maxBytes: ctx.maxAttachmentBytes,
    declaredSize: attachment.size,
    name,
    signal: ctx.shutdown,
    fetch: ctx.fetch,
  });
  const metas = await ctx.service.importAdapter(user, bytes);
  const latest = metas[metas.length - 1];
  await interaction.editReply({
    content: `Imported ${metas.length} adapter version${metas.length === 1 ? '' : 's'}${latest ? ` (latest v${latest.version}, trained ${latest.createdAt.slice(0, 10)})` : ''}; they replace your previous ones. /ask now answers with it.`,
  });
};
