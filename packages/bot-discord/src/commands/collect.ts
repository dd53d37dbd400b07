import { OppuError } from '@oppu/core';
import { COLLECT_SETTING, type CommandHandler, takeRate } from '../bot-context.js';
import { privately } from '../replies.js';

/** `/collect on|off`: the member's own later messages in this server join their history (off by default). */
export const collect: CommandHandler = async (ctx, interaction, user) => {
  const mode = interaction.options.getString('mode', false);
  if (mode !== 'on' && mode !== 'off') {
    throw new OppuError(
      'invalid_option',
      `/collect takes \`mode\`: on or off (got ${JSON.stringify(mode)}).`,
    );
  }
  takeRate(ctx, user, 'collect');
  if (mode === 'on' && !ctx.collectEnabled) {
    throw new OppuError(
      'collect_disabled',
      'Collecting messages is not enabled on this bot (its operator has not turned on the message intents, OPPU_DISCORD_COLLECT=on). Use /remember instead.',
    );
  }
  await ctx.settings.setSetting(user, COLLECT_SETTING, mode === 'on');
  ctx.collecting.set(user, mode === 'on');
  await interaction.reply(
    privately(
      mode === 'on'
        ? 'Collecting is on: your new messages in this server are added to your history (here only). /collect off stops it; /forget deletes everything.'
        : 'Collecting is off: your messages are no longer added. What was collected stays until you /forget it.',
    ),
  );
};
