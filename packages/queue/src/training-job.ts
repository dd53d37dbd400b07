import type { ProgressEvent } from '@oppu/core';
import type { ConnectionOptions } from 'bullmq';

/** The queue every producer and worker of one deployment share (one name per Redis `prefix`). */
export const DEFAULT_QUEUE_NAME = 'oppu-training';
export const DEFAULT_PREFIX = 'oppu';

export interface QueueConnectionOptions {
  /** Redis: `{ host, port }` (and `password`, `tls`...), as ioredis takes it. */
  readonly connection: ConnectionOptions;
  /** Default `oppu-training`. */
  readonly queueName?: string;
  /** Redis key prefix (default `oppu`); the per-user locks live under it too. */
  readonly prefix?: string;
}

/** What a training job carries. */
export interface TrainingJobData {
  readonly user: string;
  /** The caller's name for this request (the job id is derived from it). */
  readonly request: string;
  readonly mode?: 'incremental' | 'fresh';
}

/** What a finished training job returns. */
export interface TrainingJobResult {
  readonly user: string;
  readonly job: string;
  /** The adapter version this job stored. */
  readonly version: number;
  /** True when an earlier attempt (whose worker died) had already stored the version: nothing was retrained. */
  readonly reused: boolean;
  /** The worker that finished the job (`host:pid`). */
  readonly worker: string;
  readonly seconds: number;
}

/** A training step, as it reaches the producer through BullMQ's job progress. */
export interface TrainingProgress extends ProgressEvent {
  readonly job: string;
  readonly user: string;
  readonly worker: string;
}
