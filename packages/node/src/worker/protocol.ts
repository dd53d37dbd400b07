import type {
  AdapterTrainingResult,
  AdapterWeights,
  BaseModelInfo,
  CandidateScores,
  GenerateResult,
  PeftConfig,
  ProgressEvent,
  PromptFormat,
  SamplingOptions,
  TrainingConfig,
  TrainingExample,
} from '@oppu/core';

/**
 * The messages between an `EnginePool` (main thread) and its engine workers (`engine-worker.ts`). Everything
 * crosses by structured clone; the weights a worker returns are transferred, not copied.
 */

/** What a worker is started with (`workerData`). */
export interface WorkerStart {
  /** The base model folder (HF layout). */
  readonly dir: string;
  /** `base_model_name_or_path` for the engine (the embedded model's name), or undefined: the folder name. */
  readonly name?: string;
  /** Threads of the native kernels' pool in this worker to begin with (each job then says its own). */
  readonly threads: number;
  /**
   * Added to this worker thread's nice value before it loads anything (Linux, where the nice value is per
   * thread; the threads it starts inherit it): a training worker yields the cores to the server's thread and the
   * serving worker. 0 or absent: unchanged.
   */
  readonly nice?: number;
  /**
   * Answers running in the pool now (an Int32 at index 0, shared with the pool): a training waits between two
   * steps while it is above 0, at most `pauseMs` per step.
   */
  readonly gate?: SharedArrayBuffer;
  readonly pauseMs?: number;
}

/**
 * An adapter as a request carries it: the pool's id of that weights object, and the weights themselves only when
 * the worker does not hold that id yet (the pool keeps track, see `EnginePool`); a worker reuses its copy.
 */
export interface AdapterRef {
  readonly id: number;
  readonly weights?: AdapterWeights;
}

export interface WireGenerateRequest {
  readonly prompt: string;
  readonly promptFormat?: PromptFormat;
  readonly adapter?: AdapterRef;
}

export interface WireScoreRequest {
  readonly prompt: string;
  readonly promptFormat?: PromptFormat;
  readonly candidates: readonly string[];
  readonly adapter?: AdapterRef;
}

export type SamplingWire = Omit<SamplingOptions, 'signal'>;

export interface TrainWire {
  readonly peft: PeftConfig;
  readonly training?: Partial<TrainingConfig>;
}

/** One unit of model work; `model` names the engine in the worker (`base`, or a key from `define`). */
export type JobOp =
  | {
      readonly op: 'train';
      readonly examples: readonly TrainingExample[];
      readonly options: TrainWire & { readonly init?: AdapterWeights };
    }
  | {
      readonly op: 'trainMany';
      readonly perUser: readonly (readonly TrainingExample[])[];
      readonly options: TrainWire & { readonly inits?: readonly (AdapterWeights | undefined)[] };
    }
  | {
      readonly op: 'generate';
      readonly requests: readonly WireGenerateRequest[];
      readonly sampling: SamplingWire;
    }
  | { readonly op: 'stream'; readonly request: WireGenerateRequest; readonly sampling: SamplingWire }
  | { readonly op: 'score'; readonly request: WireGenerateRequest & { readonly completion: string } }
  | { readonly op: 'scoreCandidates'; readonly requests: readonly WireScoreRequest[] };

export type ToWorker =
  /** `aborted`: cancelled before it was sent (a training then returns its cancelled result at once). */
  | ({
      readonly type: 'job';
      readonly id: number;
      readonly model: string;
      readonly aborted?: boolean;
      /** Native kernel threads to run this job with (absent: as they are). */
      readonly threads?: number;
      /** Adapter ids the worker drops before this job (the pool's record of what it holds stays exact). */
      readonly drop?: readonly number[];
    } & JobOp)
  | { readonly type: 'cancel'; readonly id: number }
  /** New native kernel threads for the running job (a training takes them at its next step); answered by `threads`. */
  | { readonly type: 'threads'; readonly threads: number }
  /** A base with `weights` merged in (OPPU stage 1), under `key`, built from the engine `parent`. */
  | {
      readonly type: 'define';
      readonly id: number;
      readonly key: string;
      readonly parent: string;
      readonly weights: AdapterWeights;
    }
  | { readonly type: 'undefine'; readonly key: string }
  /** Test hook: the worker exits at once with this code, as a crash would. */
  | { readonly type: 'crash'; readonly code: number };

export interface WireError {
  readonly name: string;
  readonly code?: string;
  readonly message: string;
}

export type JobResult =
  | AdapterTrainingResult
  | AdapterTrainingResult[]
  | GenerateResult[]
  | CandidateScores[]
  | BaseModelInfo
  | number
  | null;

export type FromWorker =
  /** `priority`: this worker thread's nice value once started (`os.getPriority(0)`, undefined where unknown). */
  | {
      readonly type: 'ready';
      readonly info: BaseModelInfo;
      readonly backend: string;
      /** Native kernel threads in use; null: no native kernels (the wasm kernels run). */
      readonly threads: number | null;
      readonly priority?: number;
    }
  /** The native kernel threads now in use (after a job started, or a `threads` message); null: no native kernels. */
  | { readonly type: 'threads'; readonly threads: number | null }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'progress'; readonly id: number; readonly event: ProgressEvent }
  | { readonly type: 'chunk'; readonly id: number; readonly text: string }
  | { readonly type: 'done'; readonly id: number; readonly result: JobResult }
  | { readonly type: 'failed'; readonly id: number; readonly error: WireError }
  /** The worker could not start (the model did not load). */
  | { readonly type: 'fatal'; readonly error: WireError };

export function toWireError(error: unknown): WireError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(error) };
}
