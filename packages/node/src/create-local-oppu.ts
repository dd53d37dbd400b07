import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  AdapterCache,
  type AdapterStore,
  type LampTaskId,
  lampTask,
  OPPU_LORA,
  OppuService,
  type PeftConfig,
  type PeftEngine,
  type ProfileSummarizer,
  type TaskDefinition,
  type TrainingConfig,
  type UserLimits,
} from '@oppu/core';
import { TINY_MODEL_NAME } from '@oppu/model-tiny';
import { ExtractiveProfileSummarizer, HistoryStore } from '@oppu/retriever';
import { TfPeftEngine } from '@oppu/trainer';
import { checkBaseModelDir, defaultBaseModelDir } from './base-model-dir.js';
import { bm25Ranker } from './ranker.js';
import { FsAdapterStore } from './store/fs-adapter-store.js';
import { oppuHome } from './store/oppu-home.js';
import { adaptToTask, type TaskAdaptationOptions } from './task-adaptation.js';
import { PooledEngine } from './worker/pooled-engine.js';

export interface EngineOptions {
  /** A base model folder in HF layout; default: the embedded tiny model (`@oppu/model-tiny`). */
  readonly baseModelDir?: string;
  readonly onLog?: (line: string) => void;
}

/** Loads the base model on the fastest available TensorFlow.js backend, ready to train and serve adapters. */
export async function createEngine(options: EngineOptions = {}): Promise<TfPeftEngine> {
  const dir = options.baseModelDir ? resolve(options.baseModelDir) : defaultBaseModelDir();
  checkBaseModelDir(dir, options.baseModelDir === undefined);
  return TfPeftEngine.load(dir, {
    ...(options.baseModelDir === undefined ? { name: TINY_MODEL_NAME } : {}),
    onLog: options.onLog ?? ((line) => console.error(line)),
  });
}

export interface PooledEngineCreateOptions extends EngineOptions {
  /** Workers that train, one job each at a time (default 1). */
  readonly trainWorkers?: number;
  /** Workers kept for answers, so a question never waits behind a training (default 1; 0: none). */
  readonly serveWorkers?: number;
  /** Kernel threads per worker, fixed; default they follow the work (answers first, see the README). */
  readonly threads?: number;
  /** Longest a training waits between two steps while answers run (default 1,000 ms; 0: never). */
  readonly trainPauseMs?: number;
  /** Added to the training workers' nice value on Linux (0 to 19, default 10). */
  readonly trainNice?: number;
}

/**
 * Loads the base model into a pool of worker threads (`PooledEngine`): training, evaluation and generation run
 * there, and the calling thread stays free to answer while they do. Dispose it (or every engine merged from it)
 * to stop the workers.
 */
export async function createPooledEngine(options: PooledEngineCreateOptions = {}): Promise<PooledEngine> {
  const dir = options.baseModelDir ? resolve(options.baseModelDir) : defaultBaseModelDir();
  checkBaseModelDir(dir, options.baseModelDir === undefined);
  const log = options.onLog ?? ((line: string) => console.error(line));
  return PooledEngine.open({
    dir,
    ...(options.baseModelDir === undefined ? { name: TINY_MODEL_NAME } : {}),
    ...(options.trainWorkers !== undefined ? { trainWorkers: options.trainWorkers } : {}),
    ...(options.serveWorkers !== undefined ? { serveWorkers: options.serveWorkers } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.trainPauseMs !== undefined ? { trainPauseMs: options.trainPauseMs } : {}),
    ...(options.trainNice !== undefined ? { trainNice: options.trainNice } : {}),
    onLog: log,
  });
}

/** OPPU's BM25 over a user's own history lines. */
export function createRanker() {
  return bm25Ranker();
}

/**
 * The embedded profile summarizer (no model needed). It reads only the user's own items: no population
 * statistics of other users go into a profile, so one user's profile never depends on another's data.
 */
export function createSummarizer(_kind: 'extractive' = 'extractive'): ProfileSummarizer {
  return new ExtractiveProfileSummarizer();
}

export interface LocalOppuOptions extends EngineOptions {
  /** Where stores live: `history.sqlite` and `adapters/`; default `OPPU_HOME` or `./.oppu`. */
  readonly home?: string;
  /** The task whose templates shape training and prompts; default `LaMP_7` (personal writing style). */
  readonly task?: LampTaskId | TaskDefinition;
  /**
   * Where adapters live; default a `FsAdapterStore` under `<home>/adapters`. Pass a shared store to scale out
   * (e.g. `S3AdapterStore` from @oppu/s3), or one wrapped by @oppu/queue's training workers.
   */
  readonly adapters?: AdapterStore;
  /** Share an engine between services (it is then not disposed by `close`). */
  readonly engine?: PeftEngine;
  /**
   * Model work (training, evaluation, generation) runs in worker threads, each holding the base model once: this
   * many training workers plus one serving worker (default 1), so the calling thread keeps answering while users
   * train. 0 runs it on the calling thread. Ignored when `engine` is given.
   */
  readonly workers?: number;
  readonly training?: Partial<TrainingConfig>;
  readonly peft?: PeftConfig;
  readonly k?: number;
  readonly concurrency?: number;
  readonly limits?: Partial<UserLimits>;
  /** `extractive` (default), `none`, or any ProfileSummarizer (e.g. `LmProfileSummarizer` from @oppu/retriever). */
  readonly summarizer?: 'extractive' | 'none' | ProfileSummarizer;
  /** Memory budget of loaded adapters, in bytes (default 256 MiB). */
  readonly cacheBytes?: number;
  /**
   * OPPU stage 1: train a task LoRA on these examples (other users' data) and merge it into the base before
   * serving. Trained once, then loaded from `<home>/task-adapter` while the base and examples are unchanged.
   */
  readonly taskAdaptation?: TaskAdaptationOptions;
}

export interface LocalOppu {
  readonly service: OppuService;
  readonly engine: PeftEngine;
  /** The store the service writes to: `options.adapters`, or a `FsAdapterStore` under `<home>/adapters`. */
  readonly adapters: AdapterStore;
  readonly history: HistoryStore;
  readonly home: string;
  /** Waits for queued jobs, closes the history database, and disposes the engine if this factory loaded it. */
  close(): Promise<void>;
}

/** OPPU ready to run on this machine: the file-system adapter store, SQLite history, BM25 and the engine. */
export async function createLocalOppu(options: LocalOppuOptions = {}): Promise<LocalOppu> {
  const home = options.home ? resolve(options.home) : oppuHome();
  mkdirSync(home, { recursive: true });
  const task = typeof options.task === 'object' ? options.task : lampTask(options.task ?? 'LaMP_7');
  const ownEngine = options.engine === undefined;
  const workers = options.workers ?? 1;
  const baseEngine =
    options.engine ??
    (workers > 0
      ? await createPooledEngine({ ...options, trainWorkers: workers })
      : await createEngine(options));
  // Users train in parallel up to the engine's training workers (one job per user at a time either way).
  const concurrency =
    options.concurrency ?? (baseEngine instanceof PooledEngine ? baseEngine.pool.trainWorkers : undefined);
  let engine = baseEngine;
  let history: HistoryStore | undefined;
  try {
    if (options.taskAdaptation) {
      engine = (await adaptToTask(baseEngine, join(home, 'task-adapter'), options.taskAdaptation)).engine;
      if (ownEngine) baseEngine.dispose();
    }
    const ownsServing = ownEngine || engine !== baseEngine;
    history = new HistoryStore(join(home, 'history.sqlite'));
    const adapters = options.adapters ?? new FsAdapterStore({ root: join(home, 'adapters') });
    const summarizer =
      options.summarizer === 'none'
        ? undefined
        : typeof options.summarizer === 'object'
          ? options.summarizer
          : createSummarizer();
    const service = new OppuService({
      engine,
      task,
      adapters,
      history,
      ranker: bm25Ranker(),
      ...(summarizer ? { summarizer } : {}),
      cache: new AdapterCache({ maxBytes: options.cacheBytes ?? 256 * 1024 * 1024 }),
      peft: options.peft ?? OPPU_LORA,
      ...(options.training ? { training: options.training } : {}),
      ...(options.k !== undefined ? { k: options.k } : {}),
      ...(concurrency !== undefined ? { concurrency } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
    });
    const store = history;
    let closed = false;
    return {
      service,
      engine,
      adapters,
      history: store,
      home,
      async close() {
        if (closed) return;
        closed = true;
        await service.idle();
        store.close();
        if (ownsServing) engine.dispose();
      },
    };
  } catch (error) {
    history?.close();
    if (engine !== baseEngine) engine.dispose();
    if (ownEngine && engine === baseEngine) baseEngine.dispose();
    throw error;
  }
}
