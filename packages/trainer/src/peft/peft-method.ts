import type { AdapterWeights, PeftConfig, PeftMethodName } from '@oppu/core';
import type * as tf from '@tensorflow/tfjs-core';
import type { LinearAdapter } from '../model/hooks.js';
import type { PeftModelDims } from './model-dims.js';

/** What identifies the base model in a saved adapter (`base_model_name_or_path`, `revision`). */
export interface AdapterBaseInfo {
  readonly baseModelNameOrPath?: string;
  readonly revision?: string | null;
}

/**
 * One PEFT method's trainable state, attached to a decoder through the `LinearAdapter` seam. Base weights
 * are never touched (merging is a separate, explicit operation of LoRA). Tensors are owned by the method
 * until `dispose()`.
 */
export interface PeftMethod {
  readonly method: PeftMethodName;
  readonly config: PeftConfig;
  readonly dims: PeftModelDims;
  /** The hooks the decoder calls. */
  asLinearAdapter(): LinearAdapter;
  /** The variables an optimizer updates (in a stable order). */
  trainableVariables(): tf.Variable[];
  /** Dropout and other training-only behaviour; off by default. `seed` makes dropout masks reproducible. */
  setTraining(training: boolean, seed?: number): void;
  /** The adapter in HF PEFT layout (config + tensors, PEFT names and shapes, float32). */
  toWeights(base?: AdapterBaseInfo): AdapterWeights;
  /** Loads values saved by `toWeights` (or by PEFT) into this method's variables, after validating them. */
  fromWeights(weights: AdapterWeights): void;
  /** Number of trainable parameters. */
  numParameters(): number;
  dispose(): void;
}

export interface CreatePeftOptions {
  /** Seeds the initialisation (LoRA's A, random soft prompts). */
  readonly seed?: number;
  /** Prompt tuning from text: the token embeddings of `initText` ([n, hidden]); see prompt-tuning/model.ts. */
  readonly initEmbeddings?: (text: string) => tf.Tensor2D;
}
