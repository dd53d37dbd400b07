import { hostname } from 'node:os';
import { userId as checkUserId, OppuError, type OppuService, type ProgressEvent } from '@oppu/core';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { JobTaggedAdapterStore } from './job-tagged-adapter-store.js';
import {
  DEFAULT_PREFIX,
  DEFAULT_QUEUE_NAME,
  type QueueConnectionOptions,
  type TrainingJobData,
  type TrainingJobResult,
  type TrainingProgress,
} from './training-job.js';
import { UserLocks } from './user-lock.js';

/** What a worker did, for logs and tests (the producer sees progress and results through the queue instead). */
export interface TrainingWorkerEvent {
  /** `start`: training began; `stored`: a new version was stored; `reused`: an earlier attempt had stored it;
   * `busy`: another job of the user is running, this one waits; `failed`: the attempt threw. */
  readonly type: 'start' | 'stored' | 'reused' | 'busy' | 'failed';
  readonly job: string;
  readonly user: string;
  readonly worker: string;
  /** `Date.now()` when it happened. */
  readonly at: number;
  readonly version?: number;
  readonly error?: string;
}

export interface TrainingWorkerOptions extends QueueConnectionOptions {
  /** The per-user lifecycle this worker trains with, built over `adapters` (the same object). */
  readonly service: OppuService;
  /** The store `service` writes to, so each stored version names its job (see `JobTaggedAdapterStore`). */
  readonly adapters: JobTaggedAdapterStore;
  /** This worker's name in results and events (default `host:pid`). */
  readonly id?: string;
  /** Per-user lock lifetime, extended while a job runs; a dead worker's user is free after it (default 30 s). */
  readonly userLockMs?: number;
  /** BullMQ's job lock: a job whose worker stopped renewing it this long is stalled and retried (default 30 s). */
  readonly jobLockMs?: number;
  /** How often this worker looks for stalled jobs (default 15 s). */
  readonly stalledIntervalMs?: number;
  /** Worker deaths a job survives before it fails (default 3). */
  readonly maxStalledCount?: number;
  /** When the user's other job is running, try this one again after this long (default 1 s). */
  readonly busyRetryMs?: number;
  /** At most one progress update per this many ms reaches Redis (default 250; the last step always does). */
  readonly progressEveryMs?: number;
  readonly onEvent?: (event: TrainingWorkerEvent) => void;
}

/** Errors that another attempt cannot fix: the job fails at once instead of being retried. */
const FINAL_CODES = new Set(['no_history', 'invalid_user_id', 'limit_train_time']);

/**
 * Takes training jobs from the queue, one at a time, and trains them with the service; start as many as you like,
 * on any machines that share the adapter store (and the history the service reads).
 *
 * - One job per user at a time across all workers: a per-user Redis lock (`UserLocks`); a job whose user is busy
 *   goes back to the delayed set for `busyRetryMs` (no attempt is used up).
 * - A worker that dies mid-job stops renewing BullMQ's job lock; another worker's stalled-job check puts the job
 *   back, and it runs again elsewhere.
 * - Exactly once in effect: each version is stored atomically with its job id (`JobTaggedAdapterStore`); a retried
 *   job whose dead worker had already stored its version returns that version (`reused`) and trains nothing.
 * - Progress: each training step goes to BullMQ's job progress (`TrainingQueue.onProgress` on the producer).
 */
export class TrainingWorker {
  readonly id: string;
  readonly worker: Worker<TrainingJobData, TrainingJobResult>;
  private readonly options: TrainingWorkerOptions;
  private readonly redis: Redis;
  private readonly locks: UserLocks;

  constructor(options: TrainingWorkerOptions) {
    this.options = options;
    this.id = options.id ?? `${hostname()}:${process.pid}`;
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    this.redis = new Redis({
      ...(options.connection as object),
      maxRetriesPerRequest: null,
      lazyConnect: false,
    });
    this.locks = new UserLocks(this.redis, prefix, Math.round(options.userLockMs ?? 30_000));
    this.worker = new Worker(
      options.queueName ?? DEFAULT_QUEUE_NAME,
      (job, token) => this.process(job, token),
      {
        connection: options.connection,
        prefix,
        concurrency: 1,
        lockDuration: Math.round(options.jobLockMs ?? 30_000),
        stalledInterval: Math.round(options.stalledIntervalMs ?? 15_000),
        maxStalledCount: options.maxStalledCount ?? 3,
      },
    );
  }

  /** Resolves when connected to Redis and taking jobs. */
  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
    await this.redis.ping();
  }

  private emit(event: Omit<TrainingWorkerEvent, 'worker' | 'at'>): void {
    this.options.onEvent?.({ ...event, worker: this.id, at: Date.now() });
  }

  private async process(
    job: Job<TrainingJobData, TrainingJobResult>,
    token?: string,
  ): Promise<TrainingJobResult> {
    const id = job.id ?? '';
    const user = checkUserId(job.data.user, `training job ${id}: data.user`);
    const lock = await this.locks.acquire(user, this.id);
    if (!lock) {
      this.emit({ type: 'busy', job: id, user });
      await job.moveToDelayed(Date.now() + (this.options.busyRetryMs ?? 1000), token);
      throw new DelayedError();
    }
    const started = Date.now();
    const adapters = this.options.adapters;
    try {
      const done = await adapters.findJob(user, id);
      if (done) {
        this.emit({ type: 'reused', job: id, user, version: done.version });
        return this.result(id, user, done.version, true, started);
      }
      this.emit({ type: 'start', job: id, user });
      adapters.tag(user, id, () => lock.check()); // refuse to store if another worker has the user now
      try {
        const meta = await this.options.service.train(user, {
          ...(job.data.mode ? { mode: job.data.mode } : {}),
          signal: lock.lost,
          onProgress: this.progress(job, user),
        });
        this.emit({ type: 'stored', job: id, user, version: meta.version });
        return this.result(id, user, meta.version, false, started);
      } finally {
        adapters.untag(user);
      }
    } catch (error) {
      this.emit({ type: 'failed', job: id, user, error: (error as Error).message });
      if (error instanceof OppuError && FINAL_CODES.has(error.code)) {
        throw new UnrecoverableError(error.message);
      }
      throw error;
    } finally {
      await lock.release();
    }
  }

  private result(job: string, user: string, version: number, reused: boolean, started: number) {
    return { user, job, version, reused, worker: this.id, seconds: (Date.now() - started) / 1000 };
  }

  /** Throttled progress: each training step becomes the job's progress object. */
  private progress(job: Job<TrainingJobData, TrainingJobResult>, user: string) {
    const every = this.options.progressEveryMs ?? 250;
    let last = 0;
    return (event: ProgressEvent) => {
      const now = Date.now();
      if (now - last < every && event.done < event.total) return;
      last = now;
      const update: TrainingProgress = { ...event, job: job.id ?? '', user, worker: this.id };
      job.updateProgress(update as unknown as object).catch(() => {
        // A lost update is only a missed progress tick; the job's lock and result do not depend on it.
      });
    };
  }

  /** Stops taking jobs, waits for the running one, and disconnects. */
  async close(): Promise<void> {
    await this.worker.close();
    this.redis.disconnect();
  }
}
