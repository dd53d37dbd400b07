import { randomUUID } from 'node:crypto';
import { OppuError, type OppuService, type ProgressEvent, type UserId } from '@oppu/core';
import { redisConnection, TrainingQueue } from '@oppu/queue';
import type { PlaygroundTaskId } from './task-info.js';

/** What one training run produced, however it ran (in this process or on a queue worker). */
export interface TrainingOutcome {
  readonly version: number;
  readonly finalLoss?: number;
  /** The queue worker that trained it (`host:pid`); absent for in-process training. */
  readonly worker?: string;
}

export interface TrainingRun {
  readonly mode: 'incremental' | 'fresh';
  readonly signal: AbortSignal;
  readonly onProgress: (event: ProgressEvent & { readonly worker?: string }) => void;
}

/** Runs one user's training and resolves with the stored version. */
export type TrainingRunner = (user: UserId, run: TrainingRun) => Promise<TrainingOutcome>;

/** Training in this process, through the task's service (the playground's default). */
export function inProcessRunner(service: OppuService): TrainingRunner {
  return async (user, { mode, signal, onProgress }) => {
    const meta = await service.train(user, { mode, signal, onProgress });
    return {
      version: meta.version,
      ...(meta.training?.finalLoss !== undefined ? { finalLoss: meta.training.finalLoss } : {}),
    };
  };
}

/** The queue the playground uses for a task: workers for that task take jobs from it, over the task's home. */
export function playgroundQueueName(task: PlaygroundTaskId): string {
  return `oppu-playground-${task}`;
}

export { redisConnection };

/**
 * Training through `@oppu/queue`: each request becomes a BullMQ job on the task's queue, a worker (another
 * process or machine sharing the task's OPPU home) trains it, and its progress events come back here as they
 * would from an in-process training. The worker stores the version in the shared adapter store, where the
 * service's next `ask` finds it (the service lists the store's versions on every ask).
 */
export class QueuedTraining {
  private readonly queues = new Map<PlaygroundTaskId, TrainingQueue>();

  private constructor(private readonly connection: ReturnType<typeof redisConnection>) {}

  /** Connects the event streams of each task's queue (progress published before that is not seen). */
  static async open(redisUrl: string, tasks: readonly PlaygroundTaskId[]): Promise<QueuedTraining> {
    const queued = new QueuedTraining(redisConnection(redisUrl));
    try {
      for (const task of tasks) {
        const queue = new TrainingQueue({
          connection: queued.connection,
          queueName: playgroundQueueName(task),
        });
        queued.queues.set(task, queue);
        await queue.listen();
      }
    } catch (error) {
      await queued.close();
      throw error;
    }
    return queued;
  }

  runner(task: PlaygroundTaskId, service: OppuService): TrainingRunner {
    const queue = this.queues.get(task);
    if (!queue) throw new OppuError('unsupported_task', `no training queue for task ${task}`);
    return async (user, { mode, signal, onProgress }) => {
      // Each press of "train" is a new request (the queue would take a repeated request id as a duplicate).
      const { job } = await queue.enqueueTraining(user, { request: `playground-${randomUUID()}`, mode });
      const unsubscribe = queue.onProgress((p) => {
        if (p.job === job) onProgress(p);
      });
      let onAbort = () => {};
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => {
          // A job no worker has taken yet is removed; one already running finishes on its worker.
          queue.queue
            .getJob(job)
            .then((found) => found?.remove())
            .catch(() => {})
            .finally(() =>
              reject(new OppuError('aborted', `training job ${job} of user "${user}" was cancelled`)),
            );
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
      aborted.catch(() => {}); // settled after the race is over: nobody waits on it any more
      try {
        const result = await Promise.race([queue.result(job), aborted]);
        const meta = (await service.versions(user)).find((m) => m.version === result.version);
        return {
          version: result.version,
          worker: result.worker,
          ...(meta?.training?.finalLoss !== undefined ? { finalLoss: meta.training.finalLoss } : {}),
        };
      } catch (error) {
        if (error instanceof OppuError) throw error;
        // BullMQ rejects with the worker's error message; keep its code when it names one.
        const message = error instanceof Error ? error.message : String(error);
        throw new OppuError('training_failed', `training job ${job} of user "${user}" failed: ${message}`);
      } finally {
        signal.removeEventListener('abort', onAbort);
        unsubscribe();
      }
    };
  }

  async close(): Promise<void> {
    for (const queue of this.queues.values()) await queue.close();
    this.queues.clear();
  }
}
