import { OppuError } from '@oppu/core';
import { AttachmentBuilder, MessageFlags } from 'discord.js';
import { type CommandHandler, takeRate } from '../bot-context.js';

/** `/export`: the member's adapter archive (every version), sent privately: it is theirs. */
export const exportAdapter: CommandHandler = async (ctx, interaction, user) => {
  takeRate(ctx, user, 'export');
  const versions = await ctx.service.versions(user);
  if (versions.length === 0) {
    throw new OppuError(
      'no_adapter',
      'You have no adapter here yet: /remember a few things you wrote, then /train.',
    );
  }
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const archive = await ctx.service.exportAdapter(user);
  if (archive.byteLength > ctx.maxAttachmentBytes) {
    throw new OppuError(
      'archive_too_large',
      `Your archive is ${(archive.byteLength / 1024 / 1024).toFixed(1)} MiB, over this bot's upload limit of ${(ctx.maxAttachmentBytes / 1024 / 1024).toFixed(1)} MiB; ask the operator to export it for you.`,
    );
  }
  const latest = versions[versions.length - 1]!;
  const file = new AttachmentBuilder(Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength), {
    name: `oppu-adapter-${user}.zip`,
    description: `oppu adapter archive, ${versions.length} version(s)`,
  });
  await interaction.editReply({
    content: `Your adapter archive: ${versions.length} version${versions.length === 1 ? '' : 's'} (latest v${latest.version}, base model ${latest.baseModel.name}, PEFT layout). It is yours; /import brings it back.`,
    files: [file],
  });
};
