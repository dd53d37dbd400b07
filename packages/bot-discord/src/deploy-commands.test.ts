import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_NAMES } from './command-definitions.js';
import { deployCommands } from './deploy-commands.js';
import { APPLICATION_ID, FakeDiscord } from './testing/fake-discord.js';

describe('deployCommands', () => {
  let discord: FakeDiscord;
  beforeAll(async () => {
    discord = await FakeDiscord.start();
  });
  afterAll(() => discord.close());

  it('registers every command in one server, authenticated with the bot token', async () => {
    const result = await deployCommands(
      { token: 'bot-token', clientId: APPLICATION_ID, guildId: '1100000000000000010' },
      { api: discord.api },
    );
    expect(result).toEqual({ scope: 'guild 1100000000000000010', names: [...COMMAND_NAMES] });
    const put = discord.requests.at(-1)!;
    expect(put.method).toBe('PUT');
    expect(put.route).toBe(`/applications/${APPLICATION_ID}/guilds/1100000000000000010/commands`);
    expect(put.authorization).toBe('Bot bot-token');
    const sent = put.body as unknown as {
      name: string;
      contexts?: number[];
      options?: { name: string; required?: boolean }[];
    }[];
    expect(sent.map((c) => c.name)).toEqual([
      'ask',
      'remember',
      'collect',
      'train',
      'profile',
      'forget',
      'export',
      'import',
    ]);
    // Servers only (InteractionContextType.Guild = 0); required options as declared.
    expect(sent.every((c) => JSON.stringify(c.contexts) === '[0]')).toBe(true);
    expect(sent.find((c) => c.name === 'import')!.options).toMatchObject([
      { name: 'archive', type: 11, required: true },
    ]);
  });

  it('registers globally without a server id', async () => {
    const result = await deployCommands({ token: 't', clientId: APPLICATION_ID }, { api: discord.api });
    expect(result.scope).toBe('global');
    expect(discord.requests.at(-1)!.route).toBe(`/applications/${APPLICATION_ID}/commands`);
  });
});
