/**
 * Discord attachments that lie about their size (issue 12), generated with fast-check and sent through the
 * real bot (`startBot`, discord.js) against the fake Discord and its CDN: declared sizes over, at and under the
 * limit, negative ones, and bodies larger than declared, with or without a Content-Length. Each /import gets a
 * private error that names the file and the limit; an oversized download is cut off near the limit; the
 * member's stored adapters and history do not change.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestCheckpoint } from '@oppu/node';
import fc from 'fast-check';
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
  slashCommand,
} from './testing/fake-discord.js';

const EPHEMERAL = 64;
const GUILD = '1100000000000000030';
const MAX = 256 * 1024; // OPPU_DISCORD_MAX_ATTACHMENT_MB=0.25
const CHUNK = 64 * 1024; // what the fake CDN writes at a time

let root: string;
let discord: FakeDiscord;
let running: RunningBot;
/** Bytes the bot pulled from attachment bodies, per URL (its fetch, wrapped to count what it reads). */
const bytesRead = new Map<string, number>();
const countingFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const url = String(input);
  if (!response.body) return response;
  bytesRead.set(url, 0);
  const counted = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytesRead.set(url, (bytesRead.get(url) ?? 0) + chunk.byteLength);
        controller.enqueue(chunk);
      },
    }),
  );
  return new Response(counted, { status: response.status, headers: response.headers });
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-bot-attach-'));
  await writeTestCheckpoint(join(root, 'model'));
  discord = await FakeDiscord.start();
  const config = readBotConfig({
    DISCORD_TOKEN: 'not-used-offline',
    OPPU_HOME: join(root, 'home'),
    OPPU_BASE_MODEL_DIR: join(root, 'model'),
    OPPU_DISCORD_MAX_ATTACHMENT_MB: String(MAX / 1024 / 1024),
  });
  running = await startBot(config, {
    login: false,
    client: { rest: { api: discord.api, retries: 0 } },
    oppu: { onLog: () => {} },
    // No rate limit on /import here: every generated case must reach the size checks.
    bot: {
      fetch: countingFetch,
      progressIntervalMs: 0,
      rateLimits: { import: { limit: 1_000_000, windowSeconds: 1 } },
      log: () => {},
    },
  });
  addGuild(running.client, GUILD);
});
afterAll(async () => {
  await running?.stop();
  await discord?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('Discord attachments that lie about their size', () => {
  it('are refused privately with the file and limit named, cut off early, and change nothing', async () => {
    const member: FakeMember = { guildId: GUILD, userId: '1200000000000000077', username: 'mallory' };
    const user = memberUserId(GUILD, member.userId);
    await running.oppu.service.addItems(user, [{ id: 'm1', text: 'something mallory wrote' }]);
    const itemsBefore = await running.oppu.service.items(user);
    const counts = new Map<string, number>();
    let n = 0;
    let maxRead = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.integer({ min: 0, max: MAX }), // at or under the limit (maybe a lie)
          fc.integer({ min: MAX + 1, max: 2 ** 31 }), // over it
          fc.constantFrom(-1, -(2 ** 31), MAX, MAX + 1),
        ),
        fc.oneof(fc.integer({ min: 0, max: MAX }), fc.integer({ min: MAX + 1, max: 4 * MAX })),
        fc.boolean(),
        async (declared, actual, chunked) => {
          const name = `a${n++}.zip`;
          const file = discord.addFile(name, new Uint8Array(actual).fill(0x41), { chunked });
          const raw = slashCommand(member, 'import', [opt.attachment('archive', '1300000000000000009')], {
            '1300000000000000009': { filename: name, size: declared, url: file.url },
          });
          dispatchInteraction(running.client, raw);
          await running.bot.settled();
          const sent = discord.forInteraction(raw.token);
          const last = sent.at(-1)!;
          const text = (last.body?.data?.content ?? last.body?.content ?? '') as string;
          expect((sent[0]!.body?.data?.flags ?? 0) & EPHEMERAL).toBe(EPHEMERAL);
          let kind: string;
          if (declared < 0) {
            kind = 'declared-invalid';
            expect(text).toMatch(new RegExp(`^\`${name}\`: Discord gave no valid size`));
            expect(file.requests).toBe(0);
          } else if (declared > MAX) {
            kind = 'declared-over';
            expect(text).toMatch(new RegExp(`^\`${name}\` is [\\d.]+ MiB; the limit is 0\\.25 MiB`));
            expect(file.requests).toBe(0); // refused before any download
          } else if (actual > MAX) {
            kind = chunked ? 'lies-no-length' : 'lies-content-length';
            expect(text).toMatch(
              chunked
                ? new RegExp(
                    `^\`${name}\` sent more than 0\\.25 MiB although Discord said [\\d.]+ MiB; the download was cut off`,
                  )
                : new RegExp(`^\`${name}\` is [\\d.]+ MiB; the limit is 0\\.25 MiB`),
            );
            // Never held in full: with a Content-Length nothing is read; without one, reading stops just past
            // the limit (one network read may overshoot it).
            const read = bytesRead.get(file.url) ?? 0;
            maxRead = Math.max(maxRead, read);
            if (chunked) expect(read).toBeLessThanOrEqual(MAX + CHUNK);
            else expect(read).toBe(0);
          } else {
            kind = 'within-limit';
            expect(text).toMatch(/adapter archive: (not a zip file|empty or not bytes)/);
          }
          counts.set(kind, (counts.get(kind) ?? 0) + 1);
        },
      ),
      { numRuns: 120, seed: 20261125 },
    );
    expect(await running.oppu.service.versions(user)).toEqual([]);
    expect(await running.oppu.service.items(user)).toEqual(itemsBefore);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    console.log(
      `[fuzz] Discord attachments: ${total} cases (${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}); most bytes read of a lying file: ${maxRead} (limit ${MAX})`,
    );
    expect(total).toBe(120);
    expect(bytesRead.size).toBeGreaterThan(0); // the bot's downloads went through the counting fetch
  });
});
