import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type HistoryItem,
  type LampTaskId,
  OppuError,
  type OppuService,
  type PeftEngine,
  type TaskDefinition,
  type TrainingConfig,
  userId,
} from '@oppu/core';
import { OppuChatModel, type OppuChatModelInput } from './oppu-chat-model.js';

export interface TestOppuOptions {
  /** A LaMP task id (`LaMP_7`, `LaMP_2M`, ...) or a TaskDefinition (default `LaMP_7`). */
  readonly task?: LampTaskId | TaskDefinition;
  /** Users and their history items, added before `createTestOppu` returns. */
  readonly users?: Readonly<Record<string, readonly HistoryItem[]>>;
  /** Users whose adapter is trained before it returns: `true` = every user of `users` (default: none). */
  readonly train?: boolean | readonly string[];
  /** Per-user training budget (default `{ maxSteps: 2 }`: seconds, not minutes). */
  readonly training?: Partial<TrainingConfig>;
  /** Options of the returned `OppuChatModel` (besides the service). */
  readonly model?: Omit<OppuChatModelInput, 'service'>;
  /**
   * A loaded engine to share between several test instances (load it once per test file with `createEngine()`
   * from `@oppu/node`; you dispose it). Default: one is loaded in process (`workers: 0`: no threads to start
   * per test), and disposed by `close()`.
   */
  readonly engine?: PeftEngine;
  /**
   * A base model folder (HF layout). Default: the `OPPU_BASE_MODEL_DIR` environment variable when set (point a
   * whole test suite at another model without code changes), else the embedded tiny model.
   */
  readonly baseModelDir?: string;
  /** Where engine log lines go (default: nowhere, to keep test output clean). */
  readonly onLog?: (line: string) => void;
}

/** A real OPPU stack for tests: the service, a chat model on it, and its temporary home. */
export interface TestOppu {
  readonly service: OppuService;
  readonly model: OppuChatModel;
  /** The temporary folder holding the history database, adapters and memory; removed by `close()`. */
  readonly home: string;
  readonly engine: PeftEngine;
  /** Waits for queued training, closes the stores, disposes an engine it loaded, removes `home`. */
  close(): Promise<void>;
}

/**
 * OPPU for your own tests: the real engine on the embedded tiny base model (nothing is downloaded), history,
 * profiles and adapters in a fresh temporary folder, and an `OppuChatModel` on it. Training is kept tiny, so a
 * test file runs in seconds; `close()` removes everything.
 *
 * ```ts
 * const oppu = await createTestOppu({ users: { alice: items }, train: true });
 * const chain = RunnableSequence.from([prompt, oppu.model, new StringOutputParser()]);
 * await chain.invoke({ topic: 'rain' }, { configurable: { userId: 'alice' } });
 * await oppu.close();
 * ```
 */
export async function createTestOppu(options: TestOppuOptions = {}): Promise<TestOppu> {
  // Loaded on first use, so importing @oppu/langchain never loads the engine.
  const { createLocalOppu } = await import('@oppu/node');
  const baseModelDir = options.baseModelDir ?? process.env.OPPU_BASE_MODEL_DIR;
  const home = await mkdtemp(join(tmpdir(), 'oppu-test-'));
  let local: Awaited<ReturnType<typeof createLocalOppu>> | undefined;
  try {
    local = await createLocalOppu({
      home,
      task: options.task ?? 'LaMP_7',
      training: { maxSteps: 2, ...(options.training ?? {}) },
      ...(options.engine ? { engine: options.engine } : { workers: 0 }),
      ...(baseModelDir ? { baseModelDir } : {}),
      onLog: options.onLog ?? (() => {}),
    });
    const { service } = local;
    const users = options.users ?? {};
    for (const [user, items] of Object.entries(users)) await service.addItems(userId(user, 'users'), items);
    const train =
      options.train === true ? Object.keys(users) : options.train === false ? [] : (options.train ?? []);
    for (const user of train) {
      if (!(user in users)) {
        throw new OppuError('no_history', `createTestOppu: train names ${user}, who has no items in users`);
      }
      await service.train(userId(user, 'train'));
    }
    const model = new OppuChatModel({ ...(options.model ?? {}), service });
    const opened = local;
    let closed = false;
    return {
      service,
      model,
      home,
      engine: service.engine,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await opened.close();
        } finally {
          await rm(home, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await local?.close().catch(() => {});
    await rm(home, { recursive: true, force: true });
    throw error;
  }
}
