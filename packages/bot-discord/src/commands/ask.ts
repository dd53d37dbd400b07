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
  const said = answer.text.length > 0 ? answer.text : '(the model returned an empty answer)';
  const how =
    answer.adapterVersion !== undefined
      ? `-# your adapter v${answer.adapterVersion} · ${answer.method} · ${answer.retrieved.length} of your items recalled`
      : `-# base model: you have no adapter here yet. To personalize, /remember a few things you wrote (or /collect on), then /train.`;
  await interaction.editReply({ content: clip(`${said}\n${how}`), allowedMentions: NO_MENTIONS });
};
