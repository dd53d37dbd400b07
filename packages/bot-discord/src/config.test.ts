import { describe, expect, it } from 'vitest';
import { readBotConfig } from './config.js';

const TOKEN = 'MTEw.fake.token';

describe('readBotConfig', () => {
  it('names the missing variable and where to find its value', () => {
    expect(() => readBotConfig({})).toThrow(/DISCORD_TOKEN is not set: .*Developer Portal.*Bot/);
    expect(() => readBotConfig({ DISCORD_TOKEN: '  ' })).toThrow(/DISCORD_TOKEN is not set/);
    expect(() => readBotConfig({ DISCORD_TOKEN: TOKEN }, 'deploy')).toThrow(
      /DISCORD_CLIENT_ID is not set: .*Application ID/,
    );
  });

  it('rejects malformed values, naming the variable', () => {
    expect(() => readBotConfig({ DISCORD_TOKEN: TOKEN, DISCORD_GUILD_ID: 'my server' })).toThrow(
      /DISCORD_GUILD_ID="my server" is not a Discord id/,
    );
    expect(() => readBotConfig({ DISCORD_TOKEN: TOKEN, OPPU_DISCORD_COLLECT: 'maybe' })).toThrow(
      /OPPU_DISCORD_COLLECT/,
    );
    expect(() => readBotConfig({ DISCORD_TOKEN: TOKEN, OPPU_TRAIN_MAX_STEPS: '2.5' })).toThrow(
      /OPPU_TRAIN_MAX_STEPS="2.5" must be a positive integer/,
    );
  });

  it('reads every option, with defaults', () => {
    expect(readBotConfig({ DISCORD_TOKEN: TOKEN })).toEqual({
      token: TOKEN,
      collect: false,
      maxAttachmentBytes: 25 * 1024 * 1024,
    });
    expect(
      readBotConfig(
        {
          DISCORD_TOKEN: TOKEN,
          DISCORD_CLIENT_ID: '1100000000000000001',
          DISCORD_GUILD_ID: '1100000000000000010',
          OPPU_HOME: '/srv/oppu',
          OPPU_BASE_MODEL_DIR: '/srv/model',
          OPPU_DISCORD_COLLECT: 'on',
          OPPU_DISCORD_MAX_ATTACHMENT_MB: '8',
          OPPU_TRAIN_MAX_STEPS: '200',
        },
        'deploy',
      ),
    ).toEqual({
      token: TOKEN,
      clientId: '1100000000000000001',
      guildId: '1100000000000000010',
      home: '/srv/oppu',
      baseModelDir: '/srv/model',
      collect: true,
      maxAttachmentBytes: 8 * 1024 * 1024,
      trainMaxSteps: 200,
    });
  });
});
