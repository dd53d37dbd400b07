/**
 * The bot under a burst (issue 12): 100 `/train` commands arrive at once through the fake Discord, from 40
 * members, most of them several times. What the bot is designed to do, and what this checks:
 *
 * - every interaction is acknowledged (a deferred reply or a private refusal) well within Discord's 3 s;
 * - a member's first /train queues one job; their repeats while it is queued or running are refused privately
 *   ("already training"), so each member gets exactly one new adapter version (deduplicated per member);
 * - jobs of different members run one after another through the service's KeyedQueue (concurrency 1 here),
 *   and every queued job is trained and stored;
 * - while the burst is being worked through, /profile and /ask from another member answer within a bound.
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

const GUILD = '1100000000000000040';
const MEMBERS = 40;
const COMMANDS = 100;
const DEFERRED = 5;
const MESSAGE = 4;

let root: string;
let discord: FakeDiscord;
let running: RunningBot;
const member = (i: number): FakeMember => ({
  guildId: GUILD,
  userId: String(1200000000000001000n + BigInt(i)),
  username: `m${i}`,
});
const asker = member(999);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-bot-burst-'));
  await writeTestCheckpoint(join(root, 'model'));
  discord = await FakeDiscord.start();
  const config = readBotConfig({
    DISCORD_TOKEN: 'not-used-offline',
    OPPU_HOME: join(root, 'home'),
    OPPU_BASE_MODEL_DIR: join(root, 'model'),
    OPPU_TRAIN_MAX_STEPS: '1',
  });
  running = await startBot(config, {
    login: false,
    client: { rest: { api: discord.api, retries: 0 } },
    oppu: { training: { batchSize: 2, seed: 1 }, onLog: () => {} },
    bot: { progressIntervalMs: 2000, log: () => {} },
  });
  addGuild(running.client, GUILD);
  for (const m of [...Array.from({ length: MEMBERS }, (_, i) => member(i)), asker]) {
    await running.oppu.service.addItems(memberUserId(GUILD, m.userId), [
      { id: 'a', text: `${m.username} wrote about the rain today` },
      { id: 'b', text: `${m.username} likes coffee in the morning` },
    ]);
  }
});
afterAll(async () => {
  await running?.stop();
  await discord?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const textOf = (r: RecordedRequest) => (r.body?.data?.content ?? r.body?.content ?? '') as string;
const pct = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

describe('a burst of 100 /train commands', () => {
  it('acknowledges all at once, trains each member once, refuses repeats, and stays responsive', async () => {
    // 40 first commands and 60 repeats, interleaved (a fixed shuffle).
    const order: number[] = Array.from({ length: COMMANDS }, (_, i) => (i < MEMBERS ? i : (i * 7) % MEMBERS));
    for (let i = order.length - 1; i > 0; i--) {
      const j = (i * 31 + 17) % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const started = Date.now();
    const raws = order.map((i) => slashCommand(member(i), 'train'));
    const acked = raws.map((raw) =>
      discord.waitFor((r) => r.token === raw.token, 60_000).then(() => Date.now() - started),
    );
    for (const raw of raws) dispatchInteraction(running.client, raw);

    // During the burst: a cheap command and a model answer from someone else.
    const profileAt = Date.now();
    const profile = slashCommand(asker, 'profile');
    dispatchInteraction(running.client, profile);
    const profileAck = discord
      .waitFor((r) => r.token === profile.token, 30_000)
      .then(() => Date.now() - profileAt);
    const askAt = Date.now();
    const ask = slashCommand(asker, 'ask', [opt.string('text', 'the weather is nice today')]);
    dispatchInteraction(running.client, ask);
    const askDone = discord
      .waitFor(
        (r) => r.token === ask.token && r.method === 'PATCH' && /base model|adapter/.test(textOf(r)),
        60_000,
      )
      .then(() => Date.now() - askAt);

    const ackTimes = (await Promise.all(acked)).sort((a, b) => a - b);
    const profileMs = await profileAck;
    const askMs = await askDone;
    const jobsPendingWhenAskAnswered =
      MEMBERS -
      (
        await Promise.all(
          Array.from({ length: MEMBERS }, (_, i) =>
            running.oppu.service.versions(memberUserId(GUILD, member(i).userId)),
          ),
        )
      ).filter((v) => v.length > 0).length;
    await running.bot.settled();
    const totalMs = Date.now() - started;

    // Every command got exactly one outcome: trained, or refused as a repeat.
    let trained = 0;
    let refused = 0;
    const firstSeen = new Set<number>();
    for (const [k, raw] of raws.entries()) {
      const sent = discord.forInteraction(raw.token);
      const first = sent[0]!.body!;
      if (first.type === DEFERRED) {
        expect(firstSeen.has(order[k]!)).toBe(false); // only a member's first command is taken
        firstSeen.add(order[k]!);
        expect(textOf(sent.at(-1)!)).toMatch(/^Trained your adapter \*\*v1\*\* \(from scratch\)/);
        trained++;
      } else {
        expect(first.type).toBe(MESSAGE);
        expect(first.data?.flags).toBe(64); // private
        expect(textOf(sent[0]!)).toBe('Your adapter is already training; wait for that job to finish.');
        refused++;
      }
    }
    expect(trained).toBe(MEMBERS);
    expect(refused).toBe(COMMANDS - MEMBERS);
    for (let i = 0; i < MEMBERS; i++) {
      const versions = await running.oppu.service.versions(memberUserId(GUILD, member(i).userId));
      expect(versions.map((v) => v.version)).toEqual([1]);
    }

    // Responsive: all 100 acknowledged inside Discord's 3 s; /profile and /ask answered during the burst.
    expect(ackTimes.at(-1)!).toBeLessThan(3000);
    expect(profileMs).toBeLessThan(3000);
    expect(askMs).toBeLessThan(20_000);
    console.log(
      `[burst] ${COMMANDS} /train from ${MEMBERS} members: ${trained} trained, ${refused} repeats refused; ` +
        `acknowledged p50 ${pct(ackTimes, 50)} ms, p99 ${pct(ackTimes, 99)} ms, max ${ackTimes.at(-1)} ms; ` +
        `/profile answered in ${profileMs} ms and /ask in ${askMs} ms while ${jobsPendingWhenAskAnswered} jobs were still queued; ` +
        `all ${MEMBERS} jobs done in ${(totalMs / 1000).toFixed(1)} s`,
    );
  });
});
