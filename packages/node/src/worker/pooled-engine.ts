import type {
  AdapterTrainingResult,
  AdapterWeights,
  BaseModel,
  BaseModelInfo,
  CandidateScores,
  ChatTemplate,
  GenerateRequest,
  GenerateResult,
  PeftEngine,
  SamplingOptions,
  ScoreRequest,
  TrainAdapterOptions,
  TrainingExample,
} from '@oppu/core';
import { HfTokenizer, type TextTokenizer } from '@oppu/trainer';
import { EnginePool, type Lane } from './engine-pool.js';
import type { AdapterRef, SamplingWire, TrainWire, WireGenerateRequest } from './protocol.js';

export interface PooledEngineOptions {
  /** The base model folder (HF layout), already checked. */
  readonly dir: string;
  /** `base_model_name_or_path`; default the folder name. */
  readonly name?: string;
  /** Workers that train, one job each at a time (default 1). */
  readonly trainWorkers?: number;
  /** Workers kept for answers (default 1; 0: answers share the train workers). */
  readonly serveWorkers?: number;
  /** Kernel threads per worker, fixed; default they follow the work (see `EnginePoolOptions.threads`). */
  readonly threads?: number;
  /** Added to the training workers' nice value on Linux (0 to 19, default 10; see `EnginePoolOptions`). */
  readonly trainNice?: number;
  /** Cores the kernels' threads are shared out from; default `os.availableParallelism()`. */
  readonly cores?: number;
  /** Longest a training waits between two steps while answers run (default 1,000 ms; see `EnginePoolOptions`). */
  readonly trainPauseMs?: number;
  readonly onLog?: (line: string) => void;
}

/** Answers go to a serve worker first, or to any idle worker; training only to train workers. */
const ANSWER: readonly Lane[] = ['serve', 'train'];
const TRAIN: readonly Lane[] = ['train'];

/** The pool's id of each adapter object, so a worker reuses its copy (and its loaded tensors) for the same one. */
const adapterIds = new WeakMap<AdapterWeights, number>();
let nextAdapterId = 1;

function ref(weights: AdapterWeights | undefined): AdapterRef | undefined {
  if (!weights) return undefined;
  let id = adapterIds.get(weights);
  if (id === undefined) {
    id = nextAdapterId++;
    adapterIds.set(weights, id);
  }
  return { id, weights };
}

function wire(r: GenerateRequest): WireGenerateRequest {
  const adapter = ref(r.adapter);
  return {
    prompt: r.prompt,
    ...(r.promptFormat ? { promptFormat: r.promptFormat } : {}),
    ...(adapter ? { adapter } : {}),
  };
}

function split(options: SamplingOptions): { signal?: AbortSignal; sampling: SamplingWire } {
  const { signal, ...sampling } = options;
  return { ...(signal ? { signal } : {}), sampling };
}

function trainWire(options: TrainAdapterOptions): TrainWire {
  return { peft: options.peft, ...(options.training ? { training: options.training } : {}) };
}

/**
 * The base model of a `PooledEngine`: text is tokenized here (the tokenizer is small), every forward pass runs
 * in an engine worker. Requests carrying different users' adapters are batched there as in-process.
 */
export class PooledModel implements BaseModel {
  constructor(
    readonly info: BaseModelInfo,
    private readonly pool: EnginePool,
    private readonly key: string,
    private readonly tokenizer: TextTokenizer,
  ) {}

  /** The tokenizer's chat template (an instruct model); undefined for a base model. */
  get chatTemplate(): ChatTemplate | undefined {
    return this.tokenizer.chatTemplate;
  }

  tokenize(text: string): number[] {
    return this.tokenizer.encode(text, { addSpecialTokens: false });
  }

  detokenize(ids: readonly number[]): string {
    return this.tokenizer.decode(ids);
  }

  async generate(
    requests: readonly GenerateRequest[],
    options: SamplingOptions = {},
  ): Promise<GenerateResult[]> {
    const { signal, sampling } = split(options);
    return (await this.pool.run(
      this.key,
      { op: 'generate', requests: requests.map(wire), sampling },
      ANSWER,
      signal ? { signal } : {},
    )) as GenerateResult[];
  }

  async *stream(request: GenerateRequest, options: SamplingOptions = {}): AsyncIterable<string> {
    const { signal, sampling } = split(options);
    const stop = new AbortController();
    const pieces: string[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: unknown;
    const done = this.pool
      .run(this.key, { op: 'stream', request: wire(request), sampling }, ANSWER, {
        signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal,
        onChunk: (text) => {
          pieces.push(text);
          wake?.();
        },
      })
      .then(
        () => {
          finished = true;
          wake?.();
        },
        (error: unknown) => {
          failure = error;
          finished = true;
          wake?.();
        },
      );
    try {
      for (;;) {
        while (pieces.length > 0) yield pieces.shift()!;
        if (finished) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      if (failure !== undefined) throw failure;
    } finally {
      // Also when the consumer stops reading early: the worker's decoding loop ends and frees its KV cache.
      if (!finished) stop.abort();
      await done;
    }
  }

  async score(request: GenerateRequest & { readonly completion: string }): Promise<number> {
    return (await this.pool.run(
      this.key,
      { op: 'score', request: { ...wire(request), completion: request.completion } },
      ANSWER,
    )) as number;
  }

  async scoreCandidates(
    requests: readonly ScoreRequest[],
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<CandidateScores[]> {
    return (await this.pool.run(
      this.key,
      {
        op: 'scoreCandidates',
        requests: requests.map((r) => ({ ...wire(r), candidates: r.candidates })),
      },
      ANSWER,
      options.signal ? { signal: options.signal } : {},
    )) as CandidateScores[];
  }
}

/**
 * A `PeftEngine` whose model work runs in a pool of worker threads (`EnginePool`): training, evaluation and
 * generation leave the main thread free to answer. Same contract as the in-process `TfPeftEngine`: progress
 * events and cancellation work across the thread boundary, a cancelled training resolves with `cancelled: true`,
 * and a worker that dies fails its job with `worker_crashed` (nothing is stored) and is replaced.
 */
export class PooledEngine implements PeftEngine {
  readonly model: PooledModel;
  private disposed = false;

  private constructor(
    readonly pool: EnginePool,
    private readonly key: string,
    info: BaseModelInfo,
    private readonly tokenizer: TextTokenizer,
  ) {
    pool.acquire();
    this.model = new PooledModel(info, pool, key, tokenizer);
  }

  /** Starts the workers (each loads the base model) and resolves when they are ready. */
  static async open(options: PooledEngineOptions): Promise<PooledEngine> {
    const tokenizer = await HfTokenizer.load(options.dir);
    const pool = await EnginePool.open(options);
    return new PooledEngine(pool, 'base', pool.info, tokenizer);
  }

  /** The tfjs backend the workers run on (`wasm`, ...). */
  get backend(): string {
    return this.pool.backend;
  }

  async trainAdapter(
    examples: readonly TrainingExample[],
    options: TrainAdapterOptions,
  ): Promise<AdapterTrainingResult> {
    return (await this.pool.run(
      this.key,
      {
        op: 'train',
        examples,
        options: { ...trainWire(options), ...(options.init ? { init: options.init } : {}) },
      },
      TRAIN,
      {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      },
    )) as AdapterTrainingResult;
  }

  async trainAdapters(
    perUser: readonly (readonly TrainingExample[])[],
    options: TrainAdapterOptions & { readonly inits?: readonly (AdapterWeights | undefined)[] },
  ): Promise<AdapterTrainingResult[]> {
    return (await this.pool.run(
      this.key,
      {
        op: 'trainMany',
        perUser,
        options: { ...trainWire(options), ...(options.inits ? { inits: options.inits } : {}) },
      },
      TRAIN,
      {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      },
    )) as AdapterTrainingResult[];
  }

  /** A new engine on the same workers whose base has this LoRA merged in (each worker merges it once). */
  async mergeAdapter(weights: AdapterWeights): Promise<PooledEngine> {
    const key = `${this.key}+${nextAdapterId++}`;
    const info = await this.pool.define(key, this.key, weights);
    return new PooledEngine(this.pool, key, info, this.tokenizer);
  }

  /** Releases this engine; the workers stop when every engine on the pool is disposed. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.key !== 'base') this.pool.undefine(this.key);
    this.pool.release();
  }
}
