import { randomUUID } from 'node:crypto';
import {
  type AdapterMetadata,
  OppuError,
  type OppuService,
  type ProgressEvent,
  type UserId,
} from '@oppu/core';
import { redisConnection, TrainingQueue } from '@oppu/queue';

/** The queue the bot's `/train` jobs go to (workers for the bot's task take jobs from it, over the bot's home). */
export const BOT_QUEUE_NAME = 'oppu-discord';

export { redisConnection };

export interface QueuedTrainingRun {
  readonly mode: 'incremental' | 'fresh';
  readonly signal: AbortSignal;
  readonly onProgress: (event: ProgressEvent) => void;
}

/**
 * `/train` through `@oppu/queue`: each command becomes a BullMQ job for the member's user id, a worker (another
 * process or machine sharing the bot's OPPU home) trains it, and its progress events come back here as they
 * would from the service. The worker stores the version in the shared adapter store, where the service's next
 * `ask` finds it.
 */
export class QueuedTraining {
  readonly queue: TrainingQueue;
  private readonly listening: Promise<void>;

  constructor(redisUrl: string, queueName: string = BOT_QUEUE_NAME) {
    this.queue = new TrainingQueue({ connection: redisConnection(redisUrl), queueName });
    this.listening = this.queue.listen();
    this.listening.catch(() => {}); // reported by the first train()
  }

  /** Enqueues one training of `user`, relays its progress, and resolves with the version the worker stored. */
  async train(service: OppuService, user: UserId, run: QueuedTrainingRun): Promise<AdapterMetadata> {
    await this.listening;
    // Each /train is a new request (the queue would take a repeated request id as a duplicate).
    const { job } = await this.queue.enqueueTraining(user, {
      request: `discord-${randomUUID()}`,
      mode: run.mode,
    });
    const unsubscribe = this.queue.onProgress((p) => {
      if (p.job === job) run.onProgress(p);
    });
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        // A job no worker has taken yet is removed; one already running finishes on its worker.
        this.queue.queue
          .getJob(job)
          .then((found) => found?.remove())
          .catch(() => {})
          .finally(() =>
            reject(new OppuError('aborted', `training job ${job} of user "${user}" was cancelled`)),
          );
      };
      if (run.signal.aborted) onAbort();
      else run.signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => {});
    try {
      const result = await Promise.race([this.queue.result(job), aborted]);
      const meta = (await service.versions(user)).find((m) => m.version === result.version);
      if (!meta) {
        throw new OppuError(
          'training_failed',
          `training job ${job} of user "${user}" reported version ${result.version}, which the bot's adapter store does not have; the worker and the bot must share one OPPU home (or adapter store)`,
        );
      }
      return meta;
    } catch (error) {
      if (error instanceof OppuError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new OppuError('training_failed', `training job ${job} of user "${user}" failed: ${message}`);
    } finally {
      run.signal.removeEventListener('abort', onAbort);
      unsubscribe();
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
