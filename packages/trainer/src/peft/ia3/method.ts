import { DEFAULT_IA3, type Ia3Config } from '@oppu/core';
import { definePeftMethod } from '../registry.js';
import { ia3ConfigFromPeft, ia3ConfigToPeft, validateIa3Config } from './config.js';
import { Ia3Model } from './model.js';

/** IA3 (HF PEFT `IA3`): learned rescaling vectors on the targeted projections; one adapter per batch. */
export const IA3_METHOD = definePeftMethod<Ia3Config>({
  name: 'ia3',
  peftType: 'IA3',
  summary: 'IA3: learned vectors rescaling the outputs of k/v and the input of down_proj',
  defaults: DEFAULT_IA3,
  multiAdapterBatching: false,
  validateConfig: (config, where) => validateIa3Config(config, where),
  readConfig: ia3ConfigFromPeft,
  writeConfig: (config, _dims, base) => ia3ConfigToPeft(config, base),
  create: (config, dims) => new Ia3Model(config, dims),
  load: (weights, dims, where) => Ia3Model.fromWeights(weights, dims, where),
});
