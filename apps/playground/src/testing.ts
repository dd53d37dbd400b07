import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HistoryItem, synthesize, type UserId } from '@oppu/core';
import { createEngine, createLocalOppu, defaultBaseModelDir, writeTestCheckpoint } from '@oppu/node';
import type { FastifyInstance } from 'fastify';
import { createServer } from './server/create-server.js';
import { Playground } from './server/playground.js';
import { taskExtras } from './start-playground.js';

/** A playground on the real engine in a temp OPPU_HOME, for tests: tiny training budgets, no demo users. */
export interface TestPlayground {
  readonly home: string;
  readonly app: FastifyInstance;
  readonly playground: Playground;
  close(): Promise<void>;
}

export async function testPlayground(
  options: { steps?: number; concurrency?: number } = {},
): Promise<TestPlayground> {
  const home = await mkdtemp(join(tmpdir(), 'pg-test-'));
  const baseModelDir = await testBaseModelDir(home);
  const engine = await createEngine({ ...(baseModelDir ? { baseModelDir } : {}), onLog: () => {} });
  const local = await createLocalOppu({
    home: join(home, 'LaMP_2M'),
    task: 'LaMP_2M',
    engine,
    training: { maxSteps: options.steps ?? 2 },
    concurrency: options.concurrency ?? 1,
  });
  const playground = await Playground.open({
    tasks: {
      LaMP_2M: { service: local.service, adapters: local.adapters, history: local.history, ...taskExtras() },
    },
    dataDir: home,
  });
  const app = await createServer(playground);
  return {
    home,
    app,
    playground,
    async close() {
      await app.close();
      await local.close();
      engine.dispose();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/**
 * The embedded tiny model when this checkout has it built; otherwise a small random checkpoint written into
 * `dir` (same engine, same code paths, text that is noise until an adapter is trained).
 */
export async function testBaseModelDir(dir: string): Promise<string | undefined> {
  if (existsSync(join(defaultBaseModelDir(), 'config.json'))) return undefined;
  const model = join(dir, 'test-model');
  await writeTestCheckpoint(model);
  return model;
}

/** Synthetic LaMP-2M histories: user u's items, drawn from u's own latent preferences. */
export function synthHistories(
  users: number,
  items = 8,
  seed = 5,
): { items: HistoryItem[]; questions: string[] }[] {
  const data = synthesize({ task: 'LaMP_2M', users, items, queries: 2, seed });
  return data.users.map((u) => {
    const qs = data.questions.filter((q) => q.user_id === u.userId);
    return { items: [...qs[0]!.profile], questions: qs.map((q) => q.input) };
  });
}

export const uid = (id: string) => id as UserId;
