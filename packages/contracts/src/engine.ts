import type { BaseModelV1 } from './base-model.js';
import type { PeftConfig, TrainingConfig } from './peft.js';
import type { LongWorkOptions } from './progress.js';
import type { AdapterWeights } from './tensors.js';

/** One supervised example: the model reads `prompt` and learns to continue with `answer` (loss on the answer). */
export interface TrainingExample {
  readonly prompt: string;
  readonly answer: string;
}

export interface AdapterTrainingResult {
  readonly weights: AdapterWeights;
  readonly steps: number;
  readonly tokens: number;
  readonly finalLoss: number;
  /** Mean loss of each epoch (or of each logged window when training by steps). */
  readonly losses: readonly number[];
  readonly seconds: number;
  /** True when `signal` stopped training early; `weights` are then the partly trained adapter. */
  readonly cancelled: boolean;
}

export interface TrainAdapterOptions extends LongWorkOptions {
  readonly peft: PeftConfig;
  readonly training?: Partial<TrainingConfig>;
  /** Continue from this adapter (incremental update) instead of a fresh initialisation. */
  readonly init?: AdapterWeights;
}

/**
 * A base model plus the machinery to train adapters on it. Training never changes the base model and every
 * call starts from a fresh adapter (or from `init`), so one user's examples cannot reach another's adapter.
 */
export interface PeftEngineV1 {
  readonly model: BaseModelV1;
  trainAdapter(
    examples: readonly TrainingExample[],
    options: TrainAdapterOptions,
  ): Promise<AdapterTrainingResult>;
  /**
   * Trains several users' adapters at once in shared batches (each row through its own user's adapter), each
   * user's result as if trained alone. Optional: engines without it are driven one user at a time. All users
   * share `options.peft` (a LoRA); `inits[i]` continues user i's previous adapter.
   */
  trainAdapters?(
    perUser: readonly (readonly TrainingExample[])[],
    options: TrainAdapterOptions & { readonly inits?: readonly (AdapterWeights | undefined)[] },
  ): Promise<AdapterTrainingResult[]>;
  /** A new engine whose base has this LoRA merged in (OPPU stage 1); this engine is left unchanged. */
  mergeAdapter(weights: AdapterWeights, name?: string): Promise<PeftEngineV1>;
  /** Frees what the engine holds (tensors); the engine cannot be used afterwards. */
  dispose(): void;
}

/** Ranks documents for a query, as OPPU uses BM25 (`BM25Okapi(corpus).get_top_n(query, corpus, n=k)`). */
export interface TextRankerV1 {
  /** Indexes of the top `k` documents, best first. */
  topK(documents: readonly string[], query: string, k: number): number[];
}

/** `PeftEngineV1` under its unversioned name (the current version). */
export type PeftEngine = PeftEngineV1;

/** `TextRankerV1` under its unversioned name (the current version). */
export type TextRanker = TextRankerV1;
