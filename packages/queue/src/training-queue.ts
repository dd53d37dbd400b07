import { userId as checkUserId, OppuError, type UserId } from '@oppu/core';
import { Queue, QueueEvents } from 'bullmq';
import { trainingJobId } from './job-id.js';
import {
  DEFAULT_PREFIX,
  DEFAULT_QUEUE_NAME,
  type QueueConnectionOptions,
  type TrainingJobData,
  type TrainingJobResult,
  type TrainingProgress,
} from './training-job.js';

export interface TrainingQueueOptions extends QueueConnectionOptions {
  /** Tries per job, counting the first (default 3). A worker that dies mid-job does not use one up: see workers. */
  readonly attempts?: number;
  /** Wait before a failed job is tried again, doubled each time (default 2,000 ms). */
  readonly backoffMs?: number;
  /** Finished jobs are kept this long, so a duplicate request within it is still recognised (default 24 h). */
  readonly keepSeconds?: number;
}

export interface EnqueueTrainingOptions {
  /**
   * Names this request (a message id, a history revision...). The same user and request always make the same job
   * id, so sending it twice adds one job.
   */
  readonly request: string;
  /** `incremental` (default) continues from the user's latest adapter; `fresh` starts anew. */
  readonly mode?: 'incremental' | 'fresh';
}

export interface EnqueuedTraining {
  readonly job: string;
  readonly user: UserId;
  /** False when this request was already queued, running or done (nothing new was added). */
  readonly added: boolean;
}

/**
 * The producer side: the bot, the playground or a script puts per-user training jobs on Redis (BullMQ), and any
 * number of `TrainingWorker`s take them. Progress and results come back through BullMQ's queue events.
 *
 *     const queue = new TrainingQueue({ connection: { host: '127.0.0.1', port: 6379 } });
 *     const { job } = await queue.enqueueTraining(userId('ada'), { request: 'msg-1234' });
 *     queue.onProgress((p) => console.log(p.user, p.done, '/', p.total, p.loss));
 *     const result = await queue.result(job);   // { user, version, worker, ... }
 */
export class TrainingQueue {
  readonly queue: Queue<TrainingJobData, TrainingJobResult>;
  private readonly options: TrainingQueueOptions;
  private eventsInstance: QueueEvents | undefined;

  constructor(options: TrainingQueueOptions) {
    this.options = options;
    this.queue = new Queue(options.queueName ?? DEFAULT_QUEUE_NAME, {
      connection: options.connection,
      prefix: options.prefix ?? DEFAULT_PREFIX,
    });
    // Every pending `result()` adds a 'closing' listener to the queue (BullMQ's waitUntilFinished), and a bot
    // waits on many jobs at once: that is not a leak.
    this.queue.setMaxListeners(0);
  }

  /** BullMQ's event stream of this queue (progress, completed, failed), opened on first use. */
  get events(): QueueEvents {
    this.eventsInstance ??= new QueueEvents(this.queue.name, {
      connection: this.options.connection,
      prefix: this.options.prefix ?? DEFAULT_PREFIX,
    });
    return this.eventsInstance;
  }

  /** Waits until the event stream is connected (events published before that are not seen). */
  async listen(): Promise<void> {
    await this.events.waitUntilReady();
  }

  async enqueueTraining(user: UserId, options: EnqueueTrainingOptions): Promise<EnqueuedTraining> {
    const u = checkUserId(user, 'user');
    const job = trainingJobId(u, options.request);
    const keep = this.options.keepSeconds ?? 24 * 3600;
    const data: TrainingJobData = {
      user: u,
      request: options.request,
      ...(options.mode ? { mode: options.mode } : {}),
    };
    // Redis refuses a second job with the same id (BullMQ then returns without adding), so two producers racing
    // with one request still make one job; the look-up first only tells the caller which case it was.
    const existing = await this.queue.getJob(job);
    if (existing) return { job, user: u, added: false };
    await this.queue.add('train', data, {
      jobId: job,
      attempts: this.options.attempts ?? 3,
      backoff: { type: 'exponential', delay: this.options.backoffMs ?? 2000 },
      removeOnComplete: { age: keep },
      removeOnFail: { age: keep },
    });
    return { job, user: u, added: true };
  }

  /** Calls `listener` with every training step of every job (from any worker); returns an unsubscribe. */
  onProgress(listener: (progress: TrainingProgress) => void): () => void {
    const handler = ({ data }: { jobId: string; data: unknown }) => {
      if (typeof data === 'object' && data !== null && 'job' in data) listener(data as TrainingProgress);
    };
    this.events.on('progress', handler);
    return () => this.events.off('progress', handler);
  }

  /** Resolves with the job's result when it completes; rejects with its error when it fails for good. */
  async result(job: string, timeoutMs?: number): Promise<TrainingJobResult> {
    const found = await this.queue.getJob(job);
    if (!found) {
      throw new OppuError(
        'job_not_found',
        `training job ${job} is not in queue ${this.queue.name} (never added, or removed after keepSeconds)`,
      );
    }
    return found.waitUntilFinished(this.events, timeoutMs);
  }

  /** `waiting`, `active`, `delayed`, `completed`, `failed` or `unknown`. */
  state(job: string): Promise<string> {
    return this.queue.getJobState(job);
  }

  async close(): Promise<void> {
    await this.eventsInstance?.close();
    await this.queue.close();
  }
}
