import { type LoraConfig, OPPU_LORA } from '@oppu/core';
import { definePeftMethod } from '../registry.js';
import { loraBatchAdapter } from './batch.js';
import { loraConfigFromPeft, loraConfigToPeft, validateLoraConfig } from './config.js';
import { LoraModel } from './model.js';

/** LoRA (HF PEFT `LORA`): low-rank A·B beside the targeted projections; rows of many users share a batch. */
export const LORA_METHOD = definePeftMethod<LoraConfig>({
  name: 'lora',
  peftType: 'LORA',
  summary: 'LoRA: a low-rank update A·B on the targeted projections (OPPU: r 8, alpha 8, q_proj and v_proj)',
  defaults: OPPU_LORA,
  multiAdapterBatching: true,
  validateConfig: (config, where) => validateLoraConfig(config, where),
  readConfig: loraConfigFromPeft,
  writeConfig: (config, _dims, base) => loraConfigToPeft(config, base),
  create: (config, dims, options) => new LoraModel(config, dims, options),
  load: (weights, dims, where) => LoraModel.fromWeights(weights, dims, where),
  batchAdapter: (adapters, rows) => loraBatchAdapter(adapters as readonly LoraModel[], rows),
});
