import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalOppu, packAdapterArchive, unpackAdapterArchive, writeTestCheckpoint } from '@oppu/node';
import type { Client } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECT_SETTING } from './bot-context.js';
import { LAMP_7_BOT_TASK } from './bot-task.js';
import { readBotConfig } from './config.js';
import { memberUserId } from './member-user-id.js';
import { OppuBot } from './oppu-bot.js';
import { type RunningBot, startBot } from './start-bot.js';
import {
  addGuild,
  buttonClick,
  dispatchInteraction,
  dispatchMessage,
  FakeDiscord,
  type FakeMember,
  memberMessage,
  opt,
  type RecordedRequest,
  slashCommand,
} from './testing/fake-discord.js';

const EPHEMERAL = 64;
const DEFERRED = 5; // DeferredChannelMessageWithSource
const MESSAGE = 4; // ChannelMessageWithSource
const UPDATE = 7; // UpdateMessage

const SERVER_A = '1100000000000000010';
const SERVER_B = '1100000000000000020';
const alice: FakeMember = { guildId: SERVER_A, userId: '1200000000000000001', username: 'alice' };
const bob: FakeMember = { guildId: SERVER_B, userId: '1200000000000000002', username: 'bob' };
/** The same person as `alice`, in the other server: a different oppu user. */
const aliceInB: FakeMember = { guildId: SERVER_B, userId: alice.userId, username: 'alice' };

const ALICE_WROTE = [
  'omg the new cafe downtown is sooo good lol, best latte ever',
  'lol my cat knocked over my coffee again, classic monday',
  'cant believe its raining again lol, umbrella squad',
];
const BOB_WROTE = [
  'Quarterly results exceeded expectations. Our team delivered strong growth.',
  'Attending the industry conference in Berlin. Looking forward to productive meetings.',
  'Reminder: the board meeting is rescheduled to Thursday at 10:00.',
];

describe('the oppu Discord bot, against a fake Discord and the real local service', () => {
  let root: string;
  let home: string;
  let running: RunningBot;
  let oppu: LocalOppu;
  let discord: FakeDiscord;
  let client: Client;
  let bot: OppuBot;
  const MAX_ATTACHMENT = 512 * 1024;

  /** Dispatches a raw interaction and returns what the bot sent for it, once it is done. */
  async function run(raw: { token: string }): Promise<RecordedRequest[]> {
    dispatchInteraction(client, raw);
    await bot.settled();
    return discord.forInteraction(raw.token);
  }
  /** The text the member finally sees for an interaction: the last edit, or the immediate reply. */
  const finalText = (sent: RecordedRequest[]) => {
    const last = sent.at(-1)!;
    return (last.body?.data?.content ?? last.body?.content ?? '') as string;
  };
  const isPrivate = (sent: RecordedRequest[]) =>
    ((sent[0]!.body?.data?.flags ?? 0) & EPHEMERAL) === EPHEMERAL;
  const say = (member: FakeMember, name: string, text: string) =>
    run(slashCommand(member, name, [opt.string('text', text)]));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'oppu-bot-'));
    home = join(root, 'home');
    // A small random Llama with a real tokenizer: the real engine, trainer and stores, in seconds.
    await writeTestCheckpoint(join(root, 'model'));
    discord = await FakeDiscord.start();
    // The same wiring as `pnpm start`, from a config as read from the environment, without the gateway login.
    const config = readBotConfig({
      DISCORD_TOKEN: 'not-used-offline',
      OPPU_HOME: home,
      OPPU_BASE_MODEL_DIR: join(root, 'model'),
      OPPU_DISCORD_COLLECT: 'on',
      OPPU_DISCORD_MAX_ATTACHMENT_MB: String(MAX_ATTACHMENT / 1024 / 1024),
      OPPU_TRAIN_MAX_STEPS: '4',
    });
    running = await startBot(config, {
      login: false,
      client: { rest: { api: discord.api, retries: 0 } },
      oppu: { training: { learningRate: 3e-2, batchSize: 2, seed: 1 }, onLog: () => {} },
      bot: { progressIntervalMs: 0, rateLimits: { profile: { limit: 4, windowSeconds: 60 } }, log: () => {} },
    });
    ({ client, bot, oppu } = running);
    addGuild(client, SERVER_A);
    addGuild(client, SERVER_B);
  });

  afterAll(async () => {
    await running?.stop();
    await discord?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('two members in two servers train, ask and get different, personalized answers', async () => {
    for (const text of ALICE_WROTE) {
      const sent = await say(alice, 'remember', text);
      expect(sent[0]!.body).toMatchObject({ type: DEFERRED, data: { flags: EPHEMERAL } });
      expect(sent[1]).toMatchObject({
        method: 'PATCH',
        route: expect.stringMatching(/messages\/@original$/),
      });
    }
    for (const text of BOB_WROTE) await say(bob, 'remember', text);
    expect(finalText(discord.forInteraction(discord.requests.at(-1)!.token!))).toMatch(/You have 3 items/);

    // Untrained: the base model answers and the member is told how to personalize.
    const before = await say(alice, 'ask', 'the weather is nice today');
    expect(before[0]!.body).toMatchObject({ type: DEFERRED, data: { flags: 0 } });
    expect(finalText(before)).toMatch(/base model: you have no adapter here yet.*\/remember.*\/train/);

    // Alice's training, and a second /train of hers while it runs: refused, privately.
    const training = slashCommand(alice, 'train');
    dispatchInteraction(client, training);
    const again = slashCommand(alice, 'train');
    dispatchInteraction(client, again);
    await bot.settled();
    expect(discord.forInteraction(again.token)[0]!.body).toMatchObject({
      type: MESSAGE,
      data: { flags: EPHEMERAL, content: expect.stringMatching(/already training/) },
    });
    const trained = discord.forInteraction(training.token);
    expect(trained[0]!.body).toMatchObject({ type: DEFERRED, data: { flags: EPHEMERAL } });
    const edits = trained.slice(1).map((r) => r.body?.content ?? '');
    expect(edits.some((c) => c.includes('█') || c.includes('░'))).toBe(true); // a live progress bar
    expect(edits.at(-1)).toMatch(
      /Trained your adapter \*\*v1\*\* \(from scratch\)[\s\S]*3 items of yours[\s\S]*4 steps/,
    );

    const bobTrained = await run(slashCommand(bob, 'train'));
    expect(finalText(bobTrained)).toMatch(/Trained your adapter \*\*v1\*\*/);

    const question = 'the weather is nice today and i am going to the park';
    const a = await say(alice, 'ask', question);
    const b = await say(bob, 'ask', question);
    expect(isPrivate(a)).toBe(false);
    const [aliceAnswer, aliceFooter] = finalText(a).split('\n');
    const [bobAnswer, bobFooter] = finalText(b).split('\n');
    expect(aliceFooter).toMatch(/your adapter v1 · oppu\+\w+ · 1 of your items recalled/);
    expect(bobFooter).toMatch(/your adapter v1/);
    expect(aliceAnswer).not.toBe(bobAnswer);
    // Model text never pings anyone.
    expect(a.at(-1)!.body?.allowed_mentions).toEqual({ parse: [] });

    // Each answer came from that member's own adapter and memory.
    const aliceUser = memberUserId(alice.guildId, alice.userId);
    const bobUser = memberUserId(bob.guildId, bob.userId);
    const direct = await oppu.service.ask(aliceUser, LAMP_7_BOT_TASK.question(question));
    expect(direct.adapterVersion).toBe(1);
    expect(ALICE_WROTE).toContain(direct.retrieved[0]!.text);
    expect(BOB_WROTE).toContain(
      (await oppu.service.ask(bobUser, LAMP_7_BOT_TASK.question(question))).retrieved[0]!.text,
    );

    // The same person in the other server starts from nothing: nothing of server A is used there.
    const elsewhere = await say(aliceInB, 'ask', question);
    expect(finalText(elsewhere)).toMatch(/base model: you have no adapter here yet/);
    const profileB = await run(slashCommand(aliceInB, 'profile'));
    expect(isPrivate(profileB)).toBe(true);
    expect(finalText(profileB)).toMatch(/History: 0 items[\s\S]*Adapter: none yet/);
    const profileA = await run(slashCommand(alice, 'profile'));
    expect(finalText(profileA)).toMatch(/History: 3 items[\s\S]*Adapter: v1 \(.*4 steps.*\); 1 version kept/);
  });

  it('collects only opted-in members’ own messages, in the server where they opted in', async () => {
    const aliceUser = memberUserId(alice.guildId, alice.userId);
    const post = async (member: FakeMember, content: string, opts: { bot?: boolean } = {}) => {
      dispatchMessage(client, memberMessage(member, content, opts));
      await bot.settled();
    };
    await post(alice, 'this one is not collected, collect is off lol');
    expect(await oppu.service.items(aliceUser)).toHaveLength(3);

    const on = await run(slashCommand(alice, 'collect', [opt.string('mode', 'on')]));
    expect(on[0]!.body).toMatchObject({
      type: MESSAGE,
      data: { flags: EPHEMERAL, content: expect.stringMatching(/Collecting is on/) },
    });
    await post(alice, 'ok now my messages count lol');
    await post(aliceInB, 'alice in the other server is not collected');
    await post(alice, '   ');
    await post({ ...alice, userId: '1200000000000000099' }, 'a bot says hi', { bot: true });
    const items = await oppu.service.items(aliceUser);
    expect(items.map((i) => i.text)).toEqual([...ALICE_WROTE, 'ok now my messages count lol']);
    expect(await oppu.service.items(memberUserId(aliceInB.guildId, aliceInB.userId))).toHaveLength(0);
  });

  let aliceArchive: Uint8Array;

  it('/export sends the member their archive privately; /import takes it to another server', async () => {
    const sent = await run(slashCommand(alice, 'export'));
    expect(isPrivate(sent)).toBe(true);
    const edit = sent.at(-1)!;
    expect(edit.method).toBe('PATCH');
    expect(edit.files).toHaveLength(1);
    expect(edit.files[0]!.name).toBe(`oppu-adapter-${memberUserId(alice.guildId, alice.userId)}.zip`);
    aliceArchive = edit.files[0]!.bytes;
    expect([aliceArchive[0], aliceArchive[1]]).toEqual([0x50, 0x4b]); // PK
    expect(edit.body?.content).toMatch(/1 version \(latest v1/);

    const file = discord.addFile('mine.zip', aliceArchive);
    const imported = await run(
      slashCommand(aliceInB, 'import', [opt.attachment('archive', '1300000000000000001')], {
        '1300000000000000001': { filename: 'mine.zip', size: aliceArchive.byteLength, url: file.url },
      }),
    );
    expect(isPrivate(imported)).toBe(true);
    expect(finalText(imported)).toMatch(/Imported 1 adapter version \(latest v1/);
    expect(await oppu.service.versions(memberUserId(aliceInB.guildId, aliceInB.userId))).toHaveLength(1);
  });

  it('refuses a task mapping that does not match the service task', () => {
    expect(
      () =>
        new OppuBot({
          service: oppu.service,
          settings: oppu.history,
          task: { ...LAMP_7_BOT_TASK, taskId: 'LaMP_6' },
        }),
    ).toThrow(/task mapping is for LaMP_6 but the service runs LaMP_7/);
  });

  it('bad inputs get clear private errors and change nothing', async () => {
    const bobUser = memberUserId(bob.guildId, bob.userId);
    const versionsBefore = await oppu.service.versions(bobUser);
    const itemsBefore = await oppu.service.items(bobUser);
    const expectPrivateError = (sent: RecordedRequest[], pattern: RegExp) => {
      expect(isPrivate(sent)).toBe(true);
      expect(finalText(sent)).toMatch(pattern);
    };

    expectPrivateError(
      await run(slashCommand(bob, 'dance')),
      /Unknown command \/dance\. oppu knows \/ask, \/remember/,
    );
    expectPrivateError(await say(bob, 'ask', '   '), /\/ask needs some text/);
    expectPrivateError(await say(bob, 'remember', ''), /\/remember needs some text/);
    expectPrivateError(await say(bob, 'remember', 'x'.repeat(2001)), /2001 characters; the limit is 2000/);
    expectPrivateError(
      await run(slashCommand({ dmUserId: bob.userId }, 'ask', [opt.string('text', 'hi')])),
      /oppu works inside servers/,
    );
    expectPrivateError(await run(slashCommand(bob, 'collect', [opt.string('mode', 'maybe')])), /on or off/);

    const attach = async (name: string, bytes: Uint8Array, declared = bytes.byteLength, chunked = false) => {
      const file = discord.addFile(name, bytes, { chunked });
      const sent = await run(
        slashCommand(bob, 'import', [opt.attachment('archive', '1300000000000000002')], {
          '1300000000000000002': { filename: name, size: declared, url: file.url },
        }),
      );
      return { sent, file };
    };
    // Too big by its declared size: refused before any download.
    const huge = await attach('huge.zip', new Uint8Array(16), 50 * 1024 * 1024);
    expectPrivateError(huge.sent, /`huge.zip` is 50.0 MiB; the limit is 0.50 MiB/);
    expect(huge.sent).toHaveLength(1); // not even deferred
    expect(huge.file.requests).toBe(0);
    // Lies about its size: cut off while downloading.
    const liar = await attach('liar.zip', new Uint8Array(4 * 1024 * 1024), 1000, true);
    expectPrivateError(
      liar.sent,
      /`liar.zip` sent more than 0.50 MiB although Discord said 0.00 MiB; the download was cut off/,
    );
    // Not an adapter archive.
    expectPrivateError(
      (await attach('notes.zip', new TextEncoder().encode('hello, not a zip'))).sent,
      /adapter archive: not a zip file/,
    );
    // An adapter for another base model: alice's real archive with its metadata moved to another base.
    const versions = unpackAdapterArchive(aliceArchive, { maxBytes: MAX_ATTACHMENT * 8 }).map((v) => {
      const meta = JSON.parse(new TextDecoder().decode(v.meta));
      meta.baseModel = { name: 'some-other-model', hash: 'f'.repeat(64) };
      return { ...v, meta: new TextEncoder().encode(JSON.stringify(meta)) };
    });
    const foreign = packAdapterArchive(memberUserId(alice.guildId, alice.userId), versions);
    expectPrivateError(
      (await attach('foreign.zip', foreign)).sent,
      /trained on base model some-other-model .*not on .* in use here/,
    );

    // Rate limit: /profile allows 4 per minute in this bot.
    for (let i = 0; i < 4; i++)
      expect(finalText(await run(slashCommand(bob, 'profile')))).toMatch(/What oppu keeps/);
    expectPrivateError(
      await run(slashCommand(bob, 'profile')),
      /Slow down: \/profile can be used 4 times per 60 s per member\. Try again in \d+ s\./,
    );

    expect(await oppu.service.versions(bobUser)).toEqual(versionsBefore);
    expect(await oppu.service.items(bobUser)).toEqual(itemsBefore);
  });

  it('/forget asks for confirmation, then leaves nothing of that member (and only of them)', async () => {
    const aliceUser = memberUserId(alice.guildId, alice.userId);
    const prompt = await run(slashCommand(alice, 'forget'));
    expect(prompt[0]!.body).toMatchObject({ type: MESSAGE, data: { flags: EPHEMERAL } });
    const buttons = prompt[0]!.body!.data!.components![0]!.components!;
    expect(buttons.map((b) => b.label)).toEqual(['Delete everything', 'Cancel']);
    const confirmId = buttons[0]!.custom_id!;

    // Someone else cannot press it.
    const stranger = await run(buttonClick({ ...alice, userId: '1200000000000000003' }, confirmId));
    expect(stranger[0]!.body).toMatchObject({
      type: MESSAGE,
      data: { flags: EPHEMERAL, content: expect.stringMatching(/someone else/) },
    });
    expect(await oppu.service.items(aliceUser)).toHaveLength(4);

    // Cancel, or a confirmation past its time, deletes nothing.
    const cancel = await run(buttonClick(alice, buttons[1]!.custom_id!));
    expect(cancel[0]!.body).toMatchObject({
      type: UPDATE,
      data: { content: 'Nothing was deleted.', components: [] },
    });
    const expired = await run(buttonClick(alice, confirmId.replace(/:\d+$/, ':1')));
    expect(finalText(expired)).toMatch(/expired; nothing was deleted/);
    expect(await oppu.service.items(aliceUser)).toHaveLength(4);

    const done = await run(buttonClick(alice, confirmId));
    expect(done[0]!.body).toMatchObject({ type: UPDATE, data: { components: [] } });
    expect(finalText(done)).toMatch(/deleted 4 history items, 1 adapter version, .*Nothing of yours is left/);

    expect(await oppu.service.items(aliceUser)).toEqual([]);
    expect(await oppu.service.versions(aliceUser)).toEqual([]);
    expect(await oppu.service.profile(aliceUser)).toBeUndefined();
    expect(await oppu.history.getSetting(aliceUser, COLLECT_SETTING)).toBeUndefined();
    expect(await oppu.history.users()).not.toContain(aliceUser);
    const files = await readdir(home, { recursive: true });
    expect(files.filter((f) => f.includes(aliceUser))).toEqual([]);
    // Her later messages are no longer collected (the opt-in went with the rest).
    dispatchMessage(client, memberMessage(alice, 'still here lol'));
    await bot.settled();
    expect(await oppu.service.items(aliceUser)).toEqual([]);

    // Others keep theirs: bob, and alice in the other server.
    expect(await oppu.service.items(memberUserId(bob.guildId, bob.userId))).toHaveLength(3);
    expect(await oppu.service.versions(memberUserId(bob.guildId, bob.userId))).toHaveLength(1);
    expect(await oppu.service.versions(memberUserId(aliceInB.guildId, aliceInB.userId))).toHaveLength(1);
  });

  it('shutting down cancels training cleanly: the member keeps their adapter and is told why', async () => {
    const bobUser = memberUserId(bob.guildId, bob.userId);
    const adapterFiles = async () =>
      (await readdir(join(home, 'adapters', bobUser), { recursive: true }))
        .filter((f) => !f.includes('.tmp'))
        .sort();
    const before = await adapterFiles();
    expect(before.some((f) => f.startsWith('v0001'))).toBe(true);
    const raw = slashCommand(bob, 'train');
    dispatchInteraction(client, raw);
    await discord.waitFor((r) => r.token === raw.token); // deferred: the job is about to be queued
    const stopping = running.stop(); // what SIGINT/SIGTERM do
    // A command arriving during shutdown is told to come back.
    const late = slashCommand(bob, 'profile');
    dispatchInteraction(client, late);
    await stopping;
    expect(finalText(discord.forInteraction(raw.token))).toMatch(
      /cancelled because the bot is shutting down; your previous adapter is kept/,
    );
    expect(await adapterFiles()).toEqual(before);
    expect(finalText(discord.forInteraction(late.token))).toMatch(/restarting/);
  });
});
