import { join } from 'node:path';
import {
  type AdapterMetadata,
  type AdapterStore,
  type Answer,
  type HistoryItem,
  LAMP_TASKS,
  type MethodName,
  OppuError,
  type OppuService,
  synthesize,
  type UserId,
} from '@oppu/core';
import { type EvaluationBackend, Evaluations } from './evaluations.js';
import { EventHub } from './event-hub.js';
import { QueuedTraining } from './queued-training.js';
import { PLAYGROUND_TASKS, type PlaygroundTaskId, playgroundTask, QUESTION_FIELD } from './task-info.js';
import { type TrainingJob, TrainingJobs } from './training-jobs.js';
import { type PlaygroundUser, UserRegistry } from './user-registry.js';

/**
 * What the playground needs of one task: its service; optionally the adapter store (to size adapters) and the
 * history store (to count items without reading them).
 */
export interface TaskBackend extends EvaluationBackend {
  readonly service: OppuService;
  readonly adapters?: AdapterStore;
  readonly history?: { count(user: UserId): number | Promise<number> };
}

export interface PlaygroundOptions {
  /** One backend per task offered; the first one listed in PLAYGROUND_TASKS order is the default. */
  readonly tasks: Partial<Record<PlaygroundTaskId, TaskBackend>>;
  /** Where the playground keeps its own files (users.json). */
  readonly dataDir: string;
}

export interface UserSummary extends PlaygroundUser {
  readonly items: number;
  readonly versions: number;
  readonly latestVersion?: number;
  readonly training?: Omit<TrainingJob, 'points'>;
}

export interface AdapterVersionInfo extends AdapterMetadata {
  /** Trainable parameters in the adapter's tensors. */
  readonly parameters?: number;
  /** Bytes of the tensors as stored (float32). */
  readonly bytes?: number;
}

/** Names of the demo users (in order); their histories are synthetic. */
export const DEMO_NAMES = ['ada', 'ben', 'cleo', 'dev', 'eve', 'finn'] as const;

/**
 * The synthetic population the demo users are drawn from (`synthesize` with this seed, `queries` example
 * questions each): the same call with more queries gives the same users and histories, and further questions.
 */
export const DEMO_SYNTH = Object.freeze({ seed: 7, queries: 3 });

/**
 * The playground's application layer, independent of HTTP: users (a registry over the services), training
 * jobs with live progress, questions answered by several methods, adapters and evaluations.
 */
export class Playground {
  readonly hub = new EventHub();
  readonly jobs = new TrainingJobs(this.hub);
  readonly evaluations: Evaluations;
  readonly defaultTask: PlaygroundTaskId;
  /**
   * Adapter versions per user, and tensor sizes per stored version (immutable once written). Training blocks the
   * event loop between steps, so every file read waits for a step: the summaries the page polls come from here.
   */
  private readonly versionCache = new Map<UserId, Promise<AdapterMetadata[]>>();
  private readonly sizeCache = new Map<string, { parameters: number; bytes: number }>();
  /** Set by `trainThroughQueue`: trainings go to `@oppu/queue` workers instead of this process. */
  private queued: QueuedTraining | undefined;

  private constructor(
    readonly registry: UserRegistry,
    private readonly tasks: Partial<Record<PlaygroundTaskId, TaskBackend>>,
  ) {
    const first = PLAYGROUND_TASKS.find((t) => tasks[t] !== undefined);
    if (!first)
      throw new OppuError(
        'no_task',
        `the playground needs a backend for one of ${PLAYGROUND_TASKS.join(', ')}`,
      );
    this.defaultTask = first;
    this.evaluations = new Evaluations(this.hub, (task) => this.backend(task));
    // A finished job may have stored a version.
    this.hub.subscribe((event) => {
      if (event.type !== 'job') return;
      const job = event.job as { user: UserId; state: string };
      if (job.state === 'done') this.versionCache.delete(job.user);
    });
  }

  /** The user's adapter versions (cached until the next training, rollback, import or forget). */
  versions(id: UserId): Promise<AdapterMetadata[]> {
    let cached = this.versionCache.get(id);
    if (!cached) {
      const { backend } = this.user(id);
      cached = backend.service.versions(id);
      this.versionCache.set(id, cached);
      cached.catch(() => this.versionCache.delete(id));
    }
    return cached;
  }

  async rollback(id: UserId, version: number): Promise<AdapterMetadata> {
    const { backend } = this.user(id);
    try {
      return await backend.service.rollback(id, version);
    } finally {
      this.versionCache.delete(id);
    }
  }

  async importAdapter(id: UserId, archive: Uint8Array): Promise<AdapterMetadata[]> {
    const { backend } = this.user(id);
    if (this.jobs.isActive(id)) {
      throw new OppuError(
        'training_running',
        `user "${id}" is training; cancel it or wait before importing adapters`,
      );
    }
    try {
      return await backend.service.importAdapter(id, archive);
    } finally {
      this.versionCache.delete(id);
    }
  }

  static async open(options: PlaygroundOptions): Promise<Playground> {
    const registry = await UserRegistry.open(join(options.dataDir, 'users.json'));
    return new Playground(registry, options.tasks);
  }

  /** The tasks served, default first. */
  get taskIds(): PlaygroundTaskId[] {
    return PLAYGROUND_TASKS.filter((t) => this.tasks[t] !== undefined);
  }

  backend(task: PlaygroundTaskId): TaskBackend {
    const backend = this.tasks[task];
    if (!backend) {
      throw new OppuError(
        'unsupported_task',
        `task ${task} is not served here; choose one of ${this.taskIds.join(', ')}`,
      );
    }
    return backend;
  }

  /** The registered user and the service of their task. */
  user(id: UserId): { user: PlaygroundUser; backend: TaskBackend } {
    const user = this.registry.require(id);
    return { user, backend: this.backend(user.task as PlaygroundTaskId) };
  }

  async createUser(
    id: UserId,
    task: unknown = this.defaultTask,
    demo?: PlaygroundUser['demo'],
  ): Promise<PlaygroundUser> {
    const taskId = playgroundTask(task);
    this.backend(taskId);
    const user: PlaygroundUser = {
      id,
      task: taskId,
      createdAt: new Date().toISOString(),
      ...(demo ? { demo } : {}),
    };
    await this.registry.add(user);
    this.publishUsers();
    return user;
  }

  /** Removes everything of the user: training job, adapters, history, profile, and the registry entry. */
  async forgetUser(id: UserId): Promise<void> {
    const { backend } = this.user(id);
    this.jobs.forget(id);
    try {
      await backend.service.forget(id);
    } finally {
      this.versionCache.delete(id);
    }
    await this.registry.remove(id);
    this.publishUsers();
  }

  async summary(user: PlaygroundUser): Promise<UserSummary> {
    const backend = this.backend(user.task as PlaygroundTaskId);
    const count = backend.history
      ? backend.history.count(user.id)
      : backend.service.items(user.id).then((items) => items.length);
    const [items, versions] = await Promise.all([count, this.versions(user.id)]);
    const job = this.jobs.get(user.id);
    const latest = versions[versions.length - 1];
    return {
      ...user,
      items,
      versions: versions.length,
      ...(latest ? { latestVersion: latest.version } : {}),
      ...(job ? { training: { ...job, points: undefined } as Omit<TrainingJob, 'points'> } : {}),
    };
  }

  async summaries(): Promise<UserSummary[]> {
    return Promise.all(this.registry.list().map((u) => this.summary(u)));
  }

  async addItems(id: UserId, items: readonly HistoryItem[]): Promise<number> {
    const { backend } = this.user(id);
    return backend.service.addItems(id, items);
  }

  /** Answers one question with each method, side by side. `question` is the task's content text. */
  async ask(id: UserId, question: string, methods: readonly MethodName[]): Promise<Answer[]> {
    const { user, backend } = this.user(id);
    const task = LAMP_TASKS[user.task as PlaygroundTaskId];
    const field = QUESTION_FIELD[user.task as PlaygroundTaskId];
    const input = task.formatInput({ [field]: question } as never);
    return Promise.all(methods.map((method) => backend.service.ask(id, input, { method })));
  }

  async adapterVersions(id: UserId): Promise<AdapterVersionInfo[]> {
    const { backend } = this.user(id);
    const versions = await this.versions(id);
    const adapters = backend.adapters;
    if (!adapters) return versions;
    return Promise.all(
      versions.map(async (meta) => {
        const key = `${id}/${meta.version}/${meta.sha256}`;
        let size = this.sizeCache.get(key);
        if (!size) {
          const stored = await adapters.get(id, meta.version);
          if (!stored) return meta;
          size = { parameters: 0, bytes: 0 };
          for (const t of stored.weights.tensors.values()) {
            size.parameters += t.shape.reduce((a, b) => a * b, 1);
            size.bytes += t.data.byteLength;
          }
          this.sizeCache.set(key, size);
        }
        return { ...meta, ...size };
      }),
    );
  }

  /**
   * From now on, trainings are jobs on Redis (`@oppu/queue`, one queue per task: `playgroundQueueName(task)`),
   * trained by workers over the same task homes; their progress reaches the event hub as in-process training does.
   */
  async trainThroughQueue(redisUrl: string): Promise<void> {
    if (this.queued) throw new OppuError('invalid_option', 'the playground already trains through a queue');
    this.queued = await QueuedTraining.open(redisUrl, this.taskIds);
  }

  /** True when trainings go to queue workers (`trainThroughQueue`). */
  get queuesTraining(): boolean {
    return this.queued !== undefined;
  }

  startTraining(id: UserId, mode: 'incremental' | 'fresh' = 'incremental'): TrainingJob {
    const { user, backend } = this.user(id);
    const runner = this.queued?.runner(user.task as PlaygroundTaskId, backend.service);
    return this.jobs.start(runner ?? backend.service, id, mode);
  }

  /**
   * First start: demo users with synthetic histories (drawn from latent per-user preferences, so the same movie
   * is tagged differently by different users), each with training queued in the background.
   */
  async seedDemoUsers(
    options: { users?: number; items?: number; seed?: number; train?: boolean } = {},
  ): Promise<PlaygroundUser[]> {
    const created: PlaygroundUser[] = [];
    const perTask = this.taskIds.map((task, t) => ({ task, count: t === 0 ? (options.users ?? 3) : 1 }));
    let name = 0;
    for (const { task, count } of perTask) {
      const data = synthesize({
        task,
        users: count,
        items: options.items ?? 16,
        queries: DEMO_SYNTH.queries,
        seed: options.seed ?? DEMO_SYNTH.seed,
      });
      const field = QUESTION_FIELD[task];
      for (const synthUser of data.users) {
        const id = (DEMO_NAMES[name++] ?? `demo_${name}`) as UserId;
        if (this.registry.get(id)) continue;
        const questions = data.questions.filter((q) => q.user_id === synthUser.userId);
        const examples = questions.map((q) =>
          String((LAMP_TASKS[task].parseInput(q.input) as unknown as Record<string, string>)[field]),
        );
        const user = await this.createUser(id, task, { description: synthUser.description, examples });
        await this.addItems(id, questions[0]?.profile ?? []);
        created.push(user);
      }
    }
    if (options.train ?? true) for (const user of created) this.startTraining(user.id);
    return created;
  }

  private publishUsers(): void {
    this.hub.publish({ type: 'users', users: this.registry.list().map((u) => u.id) });
  }

  /** Cancels running work and waits for it to stop. */
  async close(): Promise<void> {
    this.evaluations.cancelAll();
    await this.jobs.close();
    await this.evaluations.idle();
    for (const task of this.taskIds) await this.backend(task).service.idle();
    await this.queued?.close();
    this.queued = undefined;
  }
}
