/** PEFT configurations: what a user sets. The trainer implements each method behind `PeftMethod`. */

export interface LoraConfig {
  readonly method: 'lora';
  readonly r: number;
  readonly alpha: number;
  readonly dropout: number;
  /** Module names the adapter attaches to, e.g. `['q_proj', 'v_proj']`. */
  readonly targetModules: readonly string[];
  /** rsLoRA: scale by alpha / sqrt(r) instead of alpha / r. */
  readonly rslora?: boolean;
}

export interface Ia3Config {
  readonly method: 'ia3';
  readonly targetModules: readonly string[];
  /** Modules whose input (rather than output) is rescaled, as PEFT's `feedforward_modules`. */
  readonly feedforwardModules: readonly string[];
}

export interface PromptTuningConfig {
  readonly method: 'prompt';
  readonly numVirtualTokens: number;
  /** Initialise the soft prompt from the embeddings of this text (PEFT's `prompt_tuning_init_text`). */
  readonly initText?: string;
}

/**
 * The shipped methods' configs. A method is registered in `@oppu/trainer` (`SHIPPED_PEFT_METHODS`, checked
 * against this union at compile time); a method registered at run time has a config of its own (`PeftConfigBase`).
 */
export type PeftConfig = LoraConfig | Ia3Config | PromptTuningConfig;
export type PeftMethodName = PeftConfig['method'];

/** OPPU's per-user LoRA: r 8, alpha 8, dropout 0.05 on q_proj and v_proj. */
export const OPPU_LORA: LoraConfig = Object.freeze({
  method: 'lora',
  r: 8,
  alpha: 8,
  dropout: 0.05,
  targetModules: Object.freeze(['q_proj', 'v_proj']),
});

export const DEFAULT_IA3: Ia3Config = Object.freeze({
  method: 'ia3',
  targetModules: Object.freeze(['k_proj', 'v_proj', 'down_proj']),
  feedforwardModules: Object.freeze(['down_proj']),
});

export const DEFAULT_PROMPT_TUNING: PromptTuningConfig = Object.freeze({
  method: 'prompt',
  numVirtualTokens: 16,
});

/** Optimiser and schedule for adapter training. OPPU: AdamW lr 1e-4, wd 0.01, 10% warm-up, clip 0.3, 2 epochs. */
export interface TrainingConfig {
  readonly learningRate: number;
  readonly weightDecay: number;
  readonly warmupRatio: number;
  readonly maxGradNorm: number;
  readonly epochs: number;
  /** If set, overrides `epochs`. */
  readonly maxSteps?: number;
  readonly batchSize: number;
  readonly gradientAccumulationSteps: number;
  readonly maxLength: number;
  readonly seed: number;
}

export const OPPU_TRAINING: TrainingConfig = Object.freeze({
  learningRate: 1e-4,
  weightDecay: 0.01,
  warmupRatio: 0.1,
  maxGradNorm: 0.3,
  epochs: 2,
  batchSize: 4,
  gradientAccumulationSteps: 1,
  maxLength: 1024,
  seed: 42,
});

/**
 * Per-user training for a small base (the embedded 4M-parameter model): OPPU's recipe with the learning rate and
 * epochs chosen on development seeds (`pnpm bench:lamp-table --mode search`, docs/results.md). At OPPU's 1e-4 and
 * 2 epochs a few dozen steps leave a 4M-parameter base where it was. `OPPU_TRAINING` keeps the paper's settings.
 */
export const SMALL_BASE_TRAINING: TrainingConfig = Object.freeze({
  ...OPPU_TRAINING,
  learningRate: 1e-2,
  epochs: 4,
});
