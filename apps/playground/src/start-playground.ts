import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import {
  OPPU_TRAINING,
  type ProfileSummarizer,
  SMALL_BASE_TRAINING,
  TASK_TRAINING,
  type TextRanker,
  type TrainingConfig,
} from '@oppu/core';
import {
  createEngine,
  createLocalOppu,
  createPooledEngine,
  createRanker,
  createSummarizer,
  defaultBaseModelDir,
  type LocalOppu,
  shippedTaskAdapterDir,
  syntheticTaskExamples,
} from '@oppu/node';
import type { FastifyInstance } from 'fastify';
import { buildUi, UI_DIST } from './build-ui.js';
import type { PlaygroundCliOptions } from './options.js';
import { accessToken, isLoopbackHost } from './server/access-guard.js';
import { createServer } from './server/create-server.js';
import { Playground, type TaskBackend } from './server/playground.js';
import type { PlaygroundTaskId } from './server/task-info.js';

/**
 * What the evaluation page needs besides the service, as `createLocalOppu` wires them: OPPU's BM25 as the ranker
 * and the model-free extractive summarizer for PAG's profiles.
 */
export function taskExtras(): { ranker: TextRanker; summarizer: ProfileSummarizer } {
  return {
    ranker: createRanker(),
    summarizer: createSummarizer(),
  };
}

/**
 * The users' adapter training, as `oppu run` chooses it: SMALL_BASE_TRAINING (lr 1e-2, 4 epochs, chosen on
 * development seeds) on the embedded model, OPPU's paper settings on a --base-model; --steps and --lr override.
 */
export function playgroundTraining(
  options: Pick<PlaygroundCliOptions, 'baseModelDir' | 'steps' | 'learningRate'>,
): TrainingConfig {
  return {
    ...(options.baseModelDir ? OPPU_TRAINING : SMALL_BASE_TRAINING),
    ...(options.steps !== undefined ? { maxSteps: options.steps } : {}),
    ...(options.learningRate !== undefined ? { learningRate: options.learningRate } : {}),
  };
}

export interface RunningPlayground {
  /** Where the server answers, e.g. `http://127.0.0.1:4319` (API paths are appended to it). */
  readonly url: string;
  /** The address to open: `url` with `/?token=...` when the server requires its token, else `url`. */
  readonly openUrl: string;
  /** Set when the server requires a token (it listens beyond loopback, or one was given). */
  readonly token?: string;
  readonly app: FastifyInstance;
  readonly playground: Playground;
  /** Resolves when the demo users are created (their training goes on in the background). */
  readonly seeded: Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the playground: builds the page if its sources changed, loads the base model once, opens one local
 * OPPU service per task under `<home>/playground/<task>`, serves everything, and on first start creates the demo
 * users and queues their training.
 */
export async function startPlayground(
  options: PlaygroundCliOptions & { readonly uiDir?: string; readonly log?: (line: string) => void },
): Promise<RunningPlayground> {
  const log = options.log ?? (() => {});
  const uiDir = options.uiDir ?? UI_DIST;
  if (await buildUi({ outDir: uiDir, quiet: true })) log(`built the page into ${uiDir}`);

  const dataDir = join(options.home, 'playground');
  // Training, evaluation and answers run in worker threads (the server's thread only routes requests), unless
  // --workers 0.
  const engineOptions = {
    ...(options.baseModelDir ? { baseModelDir: options.baseModelDir } : {}),
    onLog: log,
  };
  const workers = options.workers ?? 1;
  const engine =
    workers > 0
      ? await createPooledEngine({ ...engineOptions, trainWorkers: workers })
      : await createEngine(engineOptions);
  const locals: LocalOppu[] = [];
  for (const task of options.tasks) {
    const taskSteps = options.taskSteps ?? 0;
    if (taskSteps > 0)
      log(
        `adapting the base model to ${task} (OPPU stage 1: the shipped task adapter, or ${taskSteps} steps once, then cached)…`,
      );
    locals.push(
      await createLocalOppu({
        home: join(dataDir, task),
        task,
        engine,
        training: playgroundTraining(options),
        ...(taskSteps > 0
          ? {
              taskAdaptation: {
                examples: syntheticTaskExamples(task),
                training: { ...TASK_TRAINING, maxSteps: taskSteps },
                // The embedded model ships its task adapters (scripts/train-task-adapters.ts): no wait on first start.
                ...(options.baseModelDir
                  ? {}
                  : { prebuilt: shippedTaskAdapterDir(defaultBaseModelDir(), task) }),
              },
            }
          : {}),
      }),
    );
  }
  const tasks: Partial<Record<PlaygroundTaskId, TaskBackend>> = {};
  options.tasks.forEach((task, i) => {
    const local = locals[i]!;
    tasks[task] = {
      service: local.service,
      adapters: local.adapters,
      history: local.history,
      ...taskExtras(),
    };
  });
  const playground = await Playground.open({ tasks, dataDir });
  const app = await createServer(playground, {
    uiDir,
    logger: options.logger,
    ...(options.learningRate !== undefined ? { learningRate: options.learningRate } : {}),
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    access: {
      ...(options.token !== undefined ? { token: options.token } : {}),
      // A host name given to --host is one the owner will type.
      allowedHosts: [
        ...(options.allowedHosts ?? []),
        ...(/^[a-z0-9.-]+$/i.test(options.host) && !/^[\d.]+$/.test(options.host) ? [options.host] : []),
      ],
    },
  });
  if (options.redisUrl)
    log(
      `trainings go to @oppu/queue workers on ${options.redisUrl} (queue oppu-playground-<task>, home ${dataDir}/<task>)`,
    );
  const address = await app.listen({ host: options.host, port: options.port });
  const url = address.replace('[::1]', 'localhost');
  const beyondLoopback = !isLoopbackHost(options.host);
  const token = beyondLoopback || options.token !== undefined ? accessToken(app) : undefined;
  const openUrl = token ? `${url}/?token=${encodeURIComponent(token)}` : url;
  if (beyondLoopback) {
    const port = new URL(url).port;
    const network = networkAddress(options.host);
    log(
      `listening on ${options.host}: other machines can reach this playground, so every request needs the access token${options.token === undefined ? ' (generated for this start; set your own with --token or OPPU_PLAYGROUND_TOKEN)' : ''}; the addresses printed carry it`,
    );
    if (network)
      log(`from another machine: open http://${network}:${port}/?token=${encodeURIComponent(token!)}`);
  }

  const firstStart = !playground.registry.existed;
  const seeded =
    firstStart && options.demo
      ? playground
          .seedDemoUsers({ users: options.demoUsers, items: options.demoItems })
          .then((users) =>
            log(
              `created demo users ${users.map((u) => u.id).join(', ')}; their adapters train in the background`,
            ),
          )
      : playground.registry.save();
  const close = async () => {
    await app.close(); // cancels the trainings and evaluation, then waits for them
    for (const local of locals) await local.close();
    engine.dispose();
  };
  return { url, openUrl, ...(token ? { token } : {}), app, playground, seeded, close };
}

/** An address other machines can use: the --host itself, or for 0.0.0.0 / :: this machine's first external one. */
function networkAddress(host: string): string | undefined {
  if (host !== '0.0.0.0' && host !== '::' && host !== '[::]') return host.includes(':') ? `[${host}]` : host;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return undefined;
}
