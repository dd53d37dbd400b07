import { type AdapterWeights, OppuError, type PeftConfig } from '@oppu/core';
import { Ia3Model } from './ia3/model.js';
import { LoraModel } from './lora/model.js';
import type { PeftModelDims } from './model-dims.js';
import type { CreatePeftOptions, PeftMethod } from './peft-method.js';
import { PromptTuningModel } from './prompt-tuning/model.js';

/** A fresh, trainable adapter for `config` on a model of `dims` (LoRA's B and IA3 start as the identity). */
export function createPeftMethod(
  config: PeftConfig,
  dims: PeftModelDims,
  options: CreatePeftOptions = {},
): PeftMethod {
  switch (config.method) {
    case 'lora':
      return new LoraModel(config, dims, options);
    case 'ia3':
      return new Ia3Model(config, dims);
    case 'prompt':
      return new PromptTuningModel(config, dims, options);
    default:
      throw new OppuError(
        'invalid_peft_config',
        `unknown PEFT method ${JSON.stringify((config as { method?: unknown }).method)} (use lora, ia3 or prompt)`,
      );
  }
}

/** The method an adapter's `peft_type` names. */
export function peftTypeOf(weights: AdapterWeights, where = 'adapter'): PeftConfig['method'] {
  const t = weights.config.peft_type;
  if (t === 'LORA') return 'lora';
  if (t === 'IA3') return 'ia3';
  if (t === 'PROMPT_TUNING') return 'prompt';
  throw new OppuError(
    'invalid_adapter_config',
    `${where}: adapter_config.json: peft_type ${JSON.stringify(t)} is not supported (LORA, IA3, PROMPT_TUNING)`,
  );
}

/**
 * Loads saved adapter weights (HF PEFT layout) into a method for a model of `dims`, validating names and
 * shapes: a mismatch is an OppuError that names the tensor and both shapes.
 */
export function loadPeftMethod(weights: AdapterWeights, dims: PeftModelDims, where = 'adapter'): PeftMethod {
  switch (peftTypeOf(weights, where)) {
    case 'lora':
      return LoraModel.fromWeights(weights, dims, where);
    case 'ia3':
      return Ia3Model.fromWeights(weights, dims, where);
    case 'prompt':
      return PromptTuningModel.fromWeights(weights, dims, where);
  }
}

/** Checks that saved weights fit a model of `dims` (without keeping anything). */
export function validateAdapter(weights: AdapterWeights, dims: PeftModelDims, where = 'adapter'): void {
  loadPeftMethod(weights, dims, where).dispose();
}
