import { MessageFlags } from 'discord.js';
import { type CommandHandler, isCollecting, takeRate } from '../bot-context.js';
import { clip, NO_MENTIONS } from '../replies.js';

/** `/profile`: privately, everything oppu keeps about the member in this server. */
export const profile: CommandHandler = async (ctx, interaction, user) => {
  takeRate(ctx, user, 'profile');
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const [items, versions, summary, collecting] = await Promise.all([
    ctx.service.items(user),
    ctx.service.versions(user),
    ctx.service.profile(user),
    isCollecting(ctx, user),
  ]);
  const latest = versions[versions.length - 1];
  const lines = [
    '**What oppu keeps about you in this server**',
    `- History: ${items.length} item${items.length === 1 ? '' : 's'}`,
    `- Collecting your messages: ${collecting ? 'on' : 'off'}`,
  ];
  if (latest) {
    const t = latest.training ?? {};
    const facts = [
      `trained ${latest.createdAt.slice(0, 16).replace('T', ' ')} UTC`,
      t.steps !== undefined ? `${t.steps} steps` : undefined,
      t.finalLoss !== undefined ? `loss ${t.finalLoss.toFixed(3)}` : undefined,
      t.items !== undefined ? `${t.items} items` : undefined,
    ].filter((f) => f !== undefined);
    lines.push(
      `- Adapter: v${latest.version} (${facts.join(', ')}); ${versions.length} version${versions.length === 1 ? '' : 's'} kept`,
    );
  } else {
    lines.push('- Adapter: none yet (/train builds one)');
  }
  const pending = ctx.service.pendingJobs(user);
  if (pending > 0) lines.push(`- Training: ${pending} job${pending === 1 ? '' : 's'} queued or running`);
  lines.push(
    summary ? `- Profile (${summary.itemCount} items summarised):\n${summary.text}` : '- Profile: none yet',
  );
  await interaction.editReply({ content: clip(lines.join('\n')), allowedMentions: NO_MENTIONS });
};
