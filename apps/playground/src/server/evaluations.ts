import {
  baseline,
  LAMP_TASKS,
  type LampScores,
  METHODS,
  type MethodName,
  OppuError,
  oracle,
  type PeftEngine,
  type ProfileSummarizer,
  runLamp,
  scoreLamp,
  synthesize,
  type TextRanker,
} from '@oppu/core';
import type { EventHub } from './event-hub.js';
import { publicMessage } from './http-errors.js';
import type { PlaygroundTaskId } from './task-info.js';

/** What an evaluation needs of a task: the engine (its base model), a ranker, and a summarizer for PAG. */
export interface EvaluationBackend {
  readonly service: { readonly engine: PeftEngine };
  readonly ranker?: TextRanker;
  readonly summarizer?: ProfileSummarizer;
}

export interface EvaluationRequest {
  readonly task: PlaygroundTaskId;
  readonly methods: readonly MethodName[];
  /** Synthetic users (each with their own latent preferences). */
  readonly users: number;
  /** Typical history size per user. */
  readonly items: number;
  /** Questions per user. */
  readonly queries: number;
  /** Training steps per user adapter (stage 2). */
  readonly steps: number;
  /** Training steps of the task adaptation (stage 1). */
  readonly taskSteps: number;
  readonly seed: number;
  /** Adapter learning rate of both stages. */
  readonly learningRate: number;
}

export interface EvaluationRow {
  readonly method: string;
  readonly scores: LampScores;
  readonly seconds?: number;
}

export interface EvaluationRun {
  readonly id: number;
  readonly request: EvaluationRequest;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  readonly startedAt: string;
  finishedAt?: string;
  /** What is being done now, e.g. "oppu: user 2/4". */
  phase?: string;
  done: number;
  readonly total: number;
  /**
   * One row per finished method, then two reference rows from the synthetic data: `oracle` (answers with the
   * user's latent preferences) and `no-user rule` (the best user-agnostic answer).
   */
  rows: EvaluationRow[];
  error?: { readonly code: string; readonly message: string };
}

/**
 * Runs the LaMP table on synthetic data: for each method, OPPU's pipeline (`runLamp`: task adaptation, one
 * adapter per user, inference) on freshly drawn users, scored with the official metrics. One run at a time
 * (it is CPU-bound); cancellable.
 */
export class Evaluations {
  private nextId = 1;
  private readonly runs: EvaluationRun[] = [];
  private current?: { run: EvaluationRun; controller: AbortController; done: Promise<void> };

  constructor(
    private readonly hub: EventHub,
    private readonly backend: (task: PlaygroundTaskId) => EvaluationBackend,
  ) {}

  list(): EvaluationRun[] {
    return [...this.runs].reverse();
  }

  get(id: number): EvaluationRun {
    const run = this.runs.find((r) => r.id === id);
    if (!run)
      throw new OppuError(
        'evaluation_not_found',
        `there is no evaluation ${id}; list them with GET /api/evaluations`,
      );
    return run;
  }

  start(request: EvaluationRequest): EvaluationRun {
    if (this.current) {
      throw new OppuError(
        'evaluation_running',
        `evaluation ${this.current.run.id} is still running; wait for it or cancel it first`,
      );
    }
    const backend = this.backend(request.task);
    const needsProfile = request.methods.filter((m) => METHODS[m].profile);
    if (needsProfile.length > 0 && !backend.summarizer) {
      throw new OppuError(
        'missing_summarizer',
        `methods ${needsProfile.join(', ')} need a profile summarizer, and none is configured for ${request.task}`,
      );
    }
    const run: EvaluationRun = {
      id: this.nextId++,
      request,
      state: 'running',
      startedAt: new Date().toISOString(),
      done: 0,
      total: request.methods.length,
      rows: [],
    };
    this.runs.push(run);
    if (this.runs.length > 20) this.runs.shift();
    const controller = new AbortController();
    const done = this.execute(run, backend, controller.signal)
      .then(() => {
        run.state = 'done';
      })
      .catch((error: unknown) => {
        run.state = controller.signal.aborted ? 'cancelled' : 'failed';
        run.error = {
          code: error instanceof OppuError ? error.code : 'internal',
          message: publicMessage(error instanceof Error ? error.message : String(error)),
        };
      })
      .finally(() => {
        run.finishedAt = new Date().toISOString();
        run.phase = undefined;
        this.current = undefined;
        this.publish(run, true);
      });
    this.current = { run, controller, done };
    this.publish(run, true);
    return run;
  }

  cancel(id: number): EvaluationRun {
    const run = this.get(id);
    if (this.current?.run !== run) {
      throw new OppuError('evaluation_not_running', `evaluation ${id} is not running (it is ${run.state})`);
    }
    this.current.controller.abort();
    return run;
  }

  cancelAll(): void {
    this.current?.controller.abort();
  }

  async idle(): Promise<void> {
    await this.current?.done;
  }

  private async execute(run: EvaluationRun, backend: EvaluationBackend, signal: AbortSignal): Promise<void> {
    const r = run.request;
    const data = synthesize({
      task: r.task,
      users: r.users,
      items: r.items,
      queries: r.queries,
      seed: r.seed,
      signal,
    });
    const ranker = backend.ranker;
    if (!ranker) throw new OppuError('missing_ranker', `no ranker is configured for ${r.task}`);
    for (const method of r.methods) {
      run.phase = method;
      this.publish(run, true);
      const started = performance.now();
      const result = await runLamp({
        task: LAMP_TASKS[r.task],
        questions: data.questions,
        method,
        engine: backend.service.engine,
        ranker,
        ...(backend.summarizer ? { summarizer: backend.summarizer } : {}),
        training: { maxSteps: r.steps, learningRate: r.learningRate, seed: r.seed },
        taskTraining: { maxSteps: r.taskSteps, learningRate: r.learningRate, seed: r.seed },
        seed: r.seed,
        signal,
        onProgress: (e) => {
          run.phase = `${method}: ${e.phase} ${e.done}/${e.total}`;
          this.publish(run);
        },
      });
      run.rows.push({
        method,
        scores: scoreLamp(r.task, data.outputs, result.predictions),
        seconds: (performance.now() - started) / 1000,
      });
      run.done++;
      this.publish(run, true);
    }
    run.rows.push({ method: 'oracle', scores: oracle(data) });
    run.rows.push({ method: 'no-user rule', scores: baseline(data) });
  }

  private lastPublished = 0;
  private publish(run: EvaluationRun, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastPublished < 250) return;
    this.lastPublished = now;
    this.hub.publish({ type: 'evaluation', run });
  }
}
