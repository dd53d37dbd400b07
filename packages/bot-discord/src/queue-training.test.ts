/**
 * The bot with a Redis URL: `/train` becomes an `@oppu/queue` job, a worker (here in this process, over its own
 * service on the same OPPU home) trains it, and the member's private reply shows the job's progress and what
 * changed; the bot's next `/ask` answers with the version the worker stored.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestCheckpoint } from '@oppu/node';
import {
  findRedisServer,
  type LocalRedis,
  type LocalTrainingWorker,
  startLocalRedis,
  startLocalTrainingWorker,
} from '@oppu/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBotConfig } from './config.js';
import { memberUserId } from './member-user-id.js';
import { BOT_QUEUE_NAME, redisConnection } from './queued-training.js';
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

const redisBin = findRedisServer();
if (!redisBin) {
  console.warn(
    'queue-training.test.ts: skipped, redis-server is not on PATH (apt-get install -y redis-server, or set REDIS_SERVER)',
  );
}

const GUILD = '1100000000000000070';
const ada: FakeMember = { guildId: GUILD, userId: '1200000000000007001', username: 'ada' };
const textOf = (r: RecordedRequest) => (r.body?.data?.content ?? r.body?.content ?? '') as string;

describe.skipIf(!redisBin)('/train through @oppu/queue', () => {
  let root: string;
  let redis: LocalRedis;
  let worker: LocalTrainingWorker;
  let discord: FakeDiscord;
  let running: RunningBot;
  const workerSteps = 3;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'oppu-bot-queue-'));
    await writeTestCheckpoint(join(root, 'model'));
    redis = await startLocalRedis();
    const home = join(root, 'home');
    // The worker trains 3 steps; the bot's own service is set to 1 step, so a training that wrongly ran in the
    // bot would show as a 1-step version.
    worker = await startLocalTrainingWorker({
      connection: { host: redis.host, port: redis.port },
      queueName: BOT_QUEUE_NAME,
      progressEveryMs: 0,
      id: 'test-worker',
      oppu: {
        home,
        task: 'LaMP_7',
        baseModelDir: join(root, 'model'),
        training: { maxSteps: workerSteps, batchSize: 2, seed: 1 },
        onLog: () => {},
      },
    });
    discord = await FakeDiscord.start();
    const config = readBotConfig({
      DISCORD_TOKEN: 'not-used-offline',
      OPPU_HOME: home,
      OPPU_BASE_MODEL_DIR: join(root, 'model'),
      OPPU_TRAIN_MAX_STEPS: '1',
      OPPU_REDIS_URL: `redis://${redis.host}:${redis.port}`,
    });
    expect(config.redisUrl).toBe(`redis://${redis.host}:${redis.port}`);
    running = await startBot(config, {
      login: false,
      client: { rest: { api: discord.api, retries: 0 } },
      oppu: { training: { batchSize: 2, seed: 1 }, onLog: () => {} },
      bot: { progressIntervalMs: 0, log: () => {} },
    });
    addGuild(running.client, GUILD);
    await running.oppu.service.addItems(memberUserId(GUILD, ada.userId), [
      { id: 'a', text: 'ada wrote about the rain today' },
      { id: 'b', text: 'ada likes coffee in the morning' },
      { id: 'c', text: 'ada walked the dog along the river' },
    ]);
  }, 30_000);

  afterAll(async () => {
    await running?.stop();
    await worker?.close();
    await discord?.close();
    await redis?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('reports the worker job progress and completion, and /ask then uses the new version', async () => {
    const user = memberUserId(GUILD, ada.userId);
    expect(await running.oppu.service.versions(user)).toHaveLength(0);

    const train = slashCommand(ada, 'train');
    dispatchInteraction(running.client, train);
    const done = await discord.waitFor(
      (r) => r.token === train.token && /Trained your adapter|failed|cancelled/.test(textOf(r)),
      25_000,
    );
    expect(textOf(done)).toMatch(/Trained your adapter \*\*v1\*\* \(from scratch\)/);
    expect(textOf(done)).toContain(`- ${workerSteps} steps in`);
    // The progress edits came from the worker's job events (its 3 steps, not the bot's 1).
    const edits = discord.forInteraction(train.token).map(textOf);
    expect(edits.some((t) => /Training your adapter…/.test(t))).toBe(true);
    expect(edits.some((t) => t.includes(`${workerSteps}/${workerSteps}`))).toBe(true);

    const versions = await running.oppu.service.versions(user);
    expect(versions.map((m) => m.version)).toEqual([1]);
    expect(versions[0]!.training?.steps).toBe(workerSteps);

    // While a member's job runs, their second /train is refused.
    const again = slashCommand(ada, 'train');
    const twice = slashCommand(ada, 'train');
    dispatchInteraction(running.client, again);
    dispatchInteraction(running.client, twice);
    const refused = await discord.waitFor(
      (r) => r.token === twice.token && /already training/.test(textOf(r)),
      10_000,
    );
    expect(textOf(refused)).toMatch(/already training/);
    const second = await discord.waitFor(
      (r) => r.token === again.token && /Trained your adapter/.test(textOf(r)),
      25_000,
    );
    expect(textOf(second)).toMatch(/\*\*v2\*\* \(continued from v1\)/);

    const ask = slashCommand(ada, 'ask', [opt.string('text', 'the weather is nice today')]);
    dispatchInteraction(running.client, ask);
    const answer = await discord.waitFor(
      (r) => r.token === ask.token && /base model|your adapter v/.test(textOf(r)),
      20_000,
    );
    expect(textOf(answer)).toContain('your adapter v2');
  }, 30_000);

  it('reads redis URLs and refuses what is not one', () => {
    expect(redisConnection('redis://127.0.0.1:6380/2')).toEqual({ host: '127.0.0.1', port: 6380, db: 2 });
    expect(() => redisConnection('localhost:6379')).toThrow(/scheme must be redis:\/\//);
    expect(() => readBotConfig({ DISCORD_TOKEN: 't', OPPU_REDIS_URL: 'not a url' })).toThrow(/is not a URL/);
  });
});
