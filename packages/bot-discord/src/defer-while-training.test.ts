/**
 * The bot while members train (issue 19): training runs in the engine's worker thread (`createLocalOppu`'s
 * default), so the bot's thread keeps handling interactions. While one member's long training runs, every
 * command of another member is acknowledged (deferred, or answered privately) and /ask is answered, and the
 * training is still running when they are.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestCheckpoint } from '@oppu/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBotConfig } from './config.js';
import { memberUserId } from './member-user-id.js';
import { type RunningBot, startBot } from './start-bot.js';
import {
  addGuild,
  dispatchInteraction,
  FakeDiscord,
  type FakeMember,
  opt,
  type RecordedRequest,
  slashCommand,
} from './testing/fake-discord.js';

const GUILD = '1100000000000000077';
const trainer: FakeMember = { guildId: GUILD, userId: '1300000000000000001', username: 'trainer' };
const other: FakeMember = { guildId: GUILD, userId: '1300000000000000002', username: 'other' };
const textOf = (r: RecordedRequest) => (r.body?.data?.content ?? r.body?.content ?? '') as string;

let root: string;
let discord: FakeDiscord;
let running: RunningBot;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-bot-defer-'));
  await writeTestCheckpoint(join(root, 'model'));
  discord = await FakeDiscord.start();
  const config = readBotConfig({
    DISCORD_TOKEN: 'not-used-offline',
    OPPU_HOME: join(root, 'home'),
    OPPU_BASE_MODEL_DIR: join(root, 'model'),
    OPPU_TRAIN_MAX_STEPS: '1000000', // runs until the bot stops
  });
  running = await startBot(config, {
    login: false,
    client: { rest: { api: discord.api, retries: 0 } },
    oppu: { training: { batchSize: 2, seed: 1 }, onLog: () => {} },
    bot: { progressIntervalMs: 100, log: () => {} },
  });
  addGuild(running.client, GUILD);
  for (const m of [trainer, other]) {
    await running.oppu.service.addItems(memberUserId(GUILD, m.userId), [
      { id: 'a', text: `${m.username} wrote about the rain today` },
      { id: 'b', text: `${m.username} likes coffee in the morning` },
    ]);
  }
}, 120_000);
afterAll(async () => {
  await running?.stop(); // cancels the training; nothing is stored
  await discord?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('while a member trains', () => {
  it("acknowledges and answers another member's commands, and the training goes on", async () => {
    const train = slashCommand(trainer, 'train');
    dispatchInteraction(running.client, train);
    // The live bar shows steps: the training is running in the worker.
    await discord.waitFor(
      (r) => r.token === train.token && r.method === 'PATCH' && /\d+ ?\/ ?\d+/.test(textOf(r)),
      60_000,
    );

    const commands = [
      slashCommand(other, 'profile'),
      slashCommand(other, 'remember', [opt.string('text', 'other walked the dog at noon')]),
      slashCommand(other, 'ask', [opt.string('text', 'the weather is nice today')]),
      slashCommand(other, 'collect', [opt.string('mode', 'off')]),
      slashCommand(other, 'forget'),
    ];
    const acknowledged = commands.map((raw) => discord.waitFor((r) => r.token === raw.token, 30_000));
    for (const raw of commands) dispatchInteraction(running.client, raw);
    const firsts = await Promise.all(acknowledged);
    const ask = commands[2]!;
    const answer = await discord.waitFor(
      (r) => r.token === ask.token && r.method === 'PATCH' && /base model|adapter/.test(textOf(r)),
      60_000,
    );

    for (const first of firsts) expect([4, 5]).toContain(first.body?.type); // a reply or a deferral
    expect(textOf(answer).length).toBeGreaterThan(0);
    // All of that happened while the training ran: it has stored nothing and is still the member's job.
    const user = memberUserId(GUILD, trainer.userId);
    expect(running.oppu.service.pendingJobs(user)).toBe(1);
    expect(await running.oppu.service.versions(user)).toEqual([]);
  }, 120_000);
});
