import { DEFAULT_PROMPT_TUNING, type PromptTuningConfig } from '@oppu/core';
import { definePeftMethod } from '../registry.js';
import {
  promptTuningConfigFromPeft,
  promptTuningConfigToPeft,
  validatePromptTuningConfig,
} from './config.js';
import { PromptTuningModel } from './model.js';

/** Prompt tuning (HF PEFT `PROMPT_TUNING`): learned virtual-token embeddings before every prompt. */
export const PROMPT_TUNING_METHOD = definePeftMethod<PromptTuningConfig>({
  name: 'prompt',
  peftType: 'PROMPT_TUNING',
  summary: 'prompt tuning: learned virtual-token embeddings put before every prompt (16 by default)',
  defaults: DEFAULT_PROMPT_TUNING,
  multiAdapterBatching: false,
  validateConfig: (config, where) => validatePromptTuningConfig(config, where),
  readConfig: (json, where) => promptTuningConfigFromPeft(json, where),
  writeConfig: promptTuningConfigToPeft,
  create: (config, dims, options) => new PromptTuningModel(config, dims, options),
  load: (weights, dims, where) => PromptTuningModel.fromWeights(weights, dims, where),
});
