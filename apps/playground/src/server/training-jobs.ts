import type { OppuService, ProgressEvent, UserId } from '@oppu/core';
import { OppuError } from '@oppu/core';
import type { EventHub } from './event-hub.js';
import { publicMessage } from './http-errors.js';
import { inProcessRunner, type TrainingOutcome, type TrainingRunner } from './queued-training.js';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** One point of the live loss curve. */
export interface LossPoint {
  readonly step: number;
  readonly total: number;
  readonly loss?: number;
  readonly tokensPerSecond?: number;
  readonly etaSeconds?: number;
  readonly phase: string;
}

export interface TrainingJob {
  readonly id: number;
  readonly user: UserId;
  readonly mode: 'incremental' | 'fresh';
  state: JobState;
  readonly queuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** The latest progress event. */
  progress?: LossPoint;
  /** Loss curve, downsampled to at most MAX_POINTS points. */
  points: LossPoint[];
  /** The adapter version the job stored. */
  version?: number;
  finalLoss?: number;
  /** The queue worker training it (`host:pid`), when the playground trains through `@oppu/queue`. */
  worker?: string;
  error?: { readonly code: string; readonly message: string };
}

const MAX_POINTS = 400;

/**
 * Training jobs of the playground: at most one queued-or-running job per user (the service queues them, one per
 * user at a time), each cancellable, each reporting progress to the event hub as it goes.
 */
export class TrainingJobs {
  private nextId = 1;
  private readonly jobs = new Map<UserId, TrainingJob>();
  private readonly controllers = new Map<number, AbortController>();
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly hub: EventHub) {}

  /** The user's latest job, finished or not. */
  get(user: UserId): TrainingJob | undefined {
    return this.jobs.get(user);
  }

  list(): TrainingJob[] {
    return [...this.jobs.values()];
  }

  isActive(user: UserId): boolean {
    const job = this.jobs.get(user);
    return job !== undefined && (job.state === 'queued' || job.state === 'running');
  }

  /**
   * Queues training of the user's adapter; refuses when the user already has a job queued or running. `service`
   * trains it in this process, or a `TrainingRunner` runs it elsewhere (a queue worker).
   */
  start(
    service: OppuService | TrainingRunner,
    user: UserId,
    mode: 'incremental' | 'fresh' = 'incremental',
  ): TrainingJob {
    const run = typeof service === 'function' ? service : inProcessRunner(service);
    if (this.isActive(user)) {
      throw new OppuError(
        'training_running',
        `user "${user}" is already training (job ${this.jobs.get(user)!.id}); wait for it or cancel it first`,
      );
    }
    const job: TrainingJob = { id: this.nextId++, user, mode, state: 'queued', queuedAt: now(), points: [] };
    const controller = new AbortController();
    this.jobs.set(user, job);
    this.controllers.set(job.id, controller);
    this.publish(job);

    const onProgress = (e: ProgressEvent & { readonly worker?: string }) => {
      if (e.worker !== undefined) job.worker = e.worker;
      if (job.state === 'queued') {
        job.state = 'running';
        job.startedAt = now();
        this.publish(job);
      }
      const point: LossPoint = {
        step: e.done,
        total: e.total,
        phase: e.phase,
        ...(e.loss !== undefined && Number.isFinite(e.loss) ? { loss: e.loss } : {}),
        ...(e.tokensPerSecond !== undefined ? { tokensPerSecond: e.tokensPerSecond } : {}),
        ...(e.etaSeconds !== undefined ? { etaSeconds: e.etaSeconds } : {}),
      };
      job.progress = point;
      if (point.loss !== undefined) {
        job.points.push(point);
        if (job.points.length > MAX_POINTS) job.points = job.points.filter((_, i) => i % 2 === 1);
      }
      this.hub.publish({ type: 'progress', user, jobId: job.id, point });
    };

    const done = run(user, { mode, signal: controller.signal, onProgress })
      .then((outcome: TrainingOutcome) => {
        job.state = 'done';
        job.version = outcome.version;
        if (outcome.finalLoss !== undefined) job.finalLoss = outcome.finalLoss;
        if (outcome.worker !== undefined) job.worker = outcome.worker;
      })
      .catch((error: unknown) => {
        const code = error instanceof OppuError ? error.code : 'internal';
        job.state = controller.signal.aborted || code === 'aborted' ? 'cancelled' : 'failed';
        // Sent to every page over the API and events: no server paths.
        job.error = { code, message: publicMessage(error instanceof Error ? error.message : String(error)) };
      })
      .finally(() => {
        job.finishedAt = now();
        this.controllers.delete(job.id);
        this.running.delete(done);
        this.publish(job);
      });
    this.running.add(done);
    return job;
  }

  /** Cancels the user's queued or running job; the previous adapter is kept. */
  cancel(user: UserId): TrainingJob {
    const job = this.jobs.get(user);
    const controller = job ? this.controllers.get(job.id) : undefined;
    if (!job || !controller) {
      throw new OppuError('no_training', `user "${user}" has no training queued or running`);
    }
    if (job.worker !== undefined && job.state === 'running') {
      throw new OppuError(
        'training_on_worker',
        `user "${user}"'s training (job ${job.id}) is running on queue worker ${job.worker} and cannot be cancelled from here; wait for it to finish`,
      );
    }
    controller.abort();
    return job;
  }

  /** Cancels and drops the user's job record (the user is being forgotten). */
  forget(user: UserId): void {
    const job = this.jobs.get(user);
    if (job) this.controllers.get(job.id)?.abort();
    this.jobs.delete(user);
  }

  /** Cancels every job and waits for them to settle (server shutdown). */
  async close(): Promise<void> {
    for (const controller of this.controllers.values()) controller.abort();
    await Promise.allSettled([...this.running]);
  }

  /** Waits for every job started so far. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private publish(job: TrainingJob): void {
    this.hub.publish({ type: 'job', job: { ...job, points: undefined } });
  }
}

const now = () => new Date().toISOString();
