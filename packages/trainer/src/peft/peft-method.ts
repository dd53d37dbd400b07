import type { AdapterWeights, PeftConfigBase, PeftMethodInfo } from '@oppu/core';
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
export interface PeftMethod<C extends PeftConfigBase = PeftConfigBase> {
  readonly method: C['method'];
  readonly config: C;
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

/** One batch's hooks over several adapters of a method; `dispose` frees what the batch built. */
export type BatchAdapter = LinearAdapter & { dispose?(): void };

/**
 * Everything the trainer needs to know about one PEFT method, exported by the method's folder
 * (`peft/<method>/method.ts`) and listed once in `SHIPPED_PEFT_METHODS` (peft/methods.ts). The engine, the
 * adapter files, the stores and the command line find a method through the registry by its name or by the
 * `peft_type` of an `adapter_config.json`, so a new method is a new folder plus one line in that list.
 */
export interface PeftMethodDescriptor<C extends PeftConfigBase = PeftConfigBase> extends PeftMethodInfo<C> {
  /** A fresh, trainable adapter for `config` on a model of `dims` (an identity at the start, as PEFT inits). */
  create(config: C, dims: PeftModelDims, options?: CreatePeftOptions): PeftMethod<C>;
  /** Read hook: saved weights (HF PEFT layout) as this method, names and shapes checked against `dims`. */
  load(weights: AdapterWeights, dims: PeftModelDims, where: string): PeftMethod<C>;
  /** Write hook: the `adapter_config.json` fields of `config`, as HF PEFT writes them. */
  writeConfig(config: C, dims: PeftModelDims, base?: AdapterBaseInfo): Record<string, unknown>;
  /**
   * With `multiAdapterBatching`: hooks for a batch whose row i uses `adapters[rows[i]]` (-1: the base alone),
   * all rows in one forward pass. The adapters are this method's, as `create`/`load` made them.
   */
  batchAdapter?(adapters: readonly PeftMethod<C>[], rows: readonly number[]): BatchAdapter;
}
