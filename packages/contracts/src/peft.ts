/**
 * PEFT configurations: what a user sets. The trainer implements each method behind `PeftMethod`; the recipes
 * (`OPPU_LORA`, `OPPU_TRAINING`, ...) are values and live in `@oppu/core`.
 */

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
