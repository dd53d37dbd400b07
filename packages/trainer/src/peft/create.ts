import type { AdapterWeights, PeftConfig, PeftConfigBase } from '@oppu/core';
import { peftMethods } from './methods.js';
import type { PeftModelDims } from './model-dims.js';
import type { CreatePeftOptions, PeftMethod } from './peft-method.js';

/**
 * A fresh, trainable adapter for `config` on a model of `dims` (LoRA's B and IA3 start as the identity), made by
 * the registered method `config.method` names.
 */
export function createPeftMethod<C extends PeftConfigBase = PeftConfig>(
  config: C,
  dims: PeftModelDims,
  options: CreatePeftOptions = {},
): PeftMethod<C> {
  return peftMethods.forConfig(config).create(config, dims, options) as PeftMethod<C>;
}

/** The registered method an adapter's `peft_type` names (`lora` for `LORA`). */
export function peftTypeOf(weights: AdapterWeights, where = 'adapter'): string {
  return peftMethods.forWeights(weights, where).name;
}

/**
 * Loads saved adapter weights (HF PEFT layout) into a method for a model of `dims`, validating names and
 * shapes: a mismatch is an OppuError that names the tensor and both shapes.
 */
export function loadPeftMethod(weights: AdapterWeights, dims: PeftModelDims, where = 'adapter'): PeftMethod {
  return peftMethods.forWeights(weights, where).load(weights, dims, where);
}

/** Checks that saved weights fit a model of `dims` (without keeping anything). */
export function validateAdapter(weights: AdapterWeights, dims: PeftModelDims, where = 'adapter'): void {
  loadPeftMethod(weights, dims, where).dispose();
}
