import {
  InteractionContextType,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  SlashCommandBuilder,
} from 'discord.js';

/** Longest `/ask` text (Discord allows up to 6,000 characters per option). */
export const MAX_ASK_CHARS = 1000;
/** Longest `/remember` text. */
export const MAX_REMEMBER_CHARS = 2000;

const guildOnly = (b: SlashCommandBuilder) => b.setContexts(InteractionContextType.Guild);

/** The slash commands, as registered by `deploy-commands`. Every command works in servers only. */
export const COMMAND_DEFINITIONS: readonly RESTPostAPIChatInputApplicationCommandsJSONBody[] = [
  guildOnly(new SlashCommandBuilder())
    .setName('ask')
    .setDescription('Rewrite a text in your own voice, with your adapter, memory and profile')
    .addStringOption((o) =>
      o.setName('text').setDescription('The text to rewrite').setRequired(true).setMaxLength(MAX_ASK_CHARS),
    )
    .addBooleanOption((o) => o.setName('private').setDescription('Only you see the answer (default: off)'))
    .toJSON(),
  guildOnly(new SlashCommandBuilder())
    .setName('remember')
    .setDescription('Add something you wrote to your history (used by /ask and /train)')
    .addStringOption((o) =>
      o.setName('text').setDescription('Your own words').setRequired(true).setMaxLength(MAX_REMEMBER_CHARS),
    )
    .toJSON(),
  guildOnly(new SlashCommandBuilder())
    .setName('collect')
    .setDescription('Add your own messages in this server to your history (off by default)')
    .addStringOption((o) =>
      o
        .setName('mode')
        .setDescription('on: collect your new messages; off: stop')
        .setRequired(true)
        .addChoices({ name: 'on', value: 'on' }, { name: 'off', value: 'off' }),
    )
    .toJSON(),
  guildOnly(new SlashCommandBuilder())
    .setName('train')
    .setDescription('Train your personal adapter on your history (progress shown live)')
    .addBooleanOption((o) =>
      o.setName('fresh').setDescription('Start from scratch instead of your latest adapter'),
    )
    .toJSON(),
  guildOnly(new SlashCommandBuilder())
    .setName('profile')
    .setDescription('See what oppu keeps about you here')
    .toJSON(),
  guildOnly(new SlashCommandBuilder())
    .setName('forget')
    .setDescription('Delete every adapter, history item and profile of yours in this server')
    .toJSON(),
  guildOnly(new SlashCommandBuilder())
    .setName('export')
    .setDescription('Get your adapter archive (every version), privately')
    .toJSON(),
  guildOnly(new SlashCommandBuilder())
    .setName('import')
    .setDescription('Replace your adapters with an archive from /export')
    .addAttachmentOption((o) =>
      o.setName('archive').setDescription('The .zip from /export').setRequired(true),
    )
    .toJSON(),
];

export const COMMAND_NAMES: readonly string[] = COMMAND_DEFINITIONS.map((c) => c.name);
