import { type InteractionReplyOptions, MessageFlags, type RepliableInteraction } from 'discord.js';

/** Discord's limit on a message's content. */
export const MAX_CONTENT = 2000;

/** Cuts text to fit a message, marking the cut. */
export function clip(text: string, max = MAX_CONTENT): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Model output and member text never ping anyone. */
export const NO_MENTIONS = { parse: [] } as const;

export function privately(content: string): InteractionReplyOptions & { flags: MessageFlags.Ephemeral } {
  return { content: clip(content), flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS };
}

/**
 * Tells the member what went wrong, privately, whatever state the interaction is in: a fresh one gets an
 * ephemeral reply; a deferred ephemeral one is edited; a deferred public one is deleted and followed up
 * privately, so an error about a member's data is never shown to the channel. Buttons (on oppu's private
 * messages) edit that message.
 */
export async function respondPrivately(interaction: RepliableInteraction, content: string): Promise<void> {
  if (!interaction.deferred && !interaction.replied) {
    await interaction.reply(privately(content));
  } else if (interaction.ephemeral || interaction.isMessageComponent()) {
    // A component's reply is the (private) message it belongs to.
    await interaction.editReply({
      content: clip(content),
      components: [],
      files: [],
      allowedMentions: NO_MENTIONS,
    });
  } else {
    await interaction.deleteReply().catch(() => undefined);
    await interaction.followUp(privately(content));
  }
}
