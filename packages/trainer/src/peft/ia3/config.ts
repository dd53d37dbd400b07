import { type Ia3Config, OppuError } from '@oppu/core';
import { basePeftFields, ConfigReader, isFalse, isNullish } from '../format/config-fields.js';
import { checkModules } from '../model-dims.js';
import type { AdapterBaseInfo } from '../peft-method.js';

/** Checks an IA3 config: feed-forward modules (input rescaled) must be a subset of the targets, as in PEFT. */
export function validateIa3Config(config: Ia3Config, where = 'IA3 config'): Ia3Config {
  const targetModules = checkModules(config.targetModules, `${where}: targetModules`);
  const feedforwardModules =
    config.feedforwardModules.length === 0
      ? []
      : checkModules(config.feedforwardModules, `${where}: feedforwardModules`);
  for (const m of feedforwardModules) {
    if (!targetModules.includes(m))
      throw new OppuError(
        'invalid_peft_config',
        `${where}: feedforwardModules "${m}" is not in targetModules (PEFT requires a subset)`,
      );
  }
  return { method: 'ia3', targetModules, feedforwardModules };
}

/** `adapter_config.json` for IA3, with the fields PEFT's `IA3Config` writes. */
export function ia3ConfigToPeft(config: Ia3Config, base: AdapterBaseInfo = {}): Record<string, unknown> {
  return {
    ...basePeftFields('IA3', base),
    fan_in_fan_out: false,
    feedforward_modules: [...config.feedforwardModules].sort(),
    init_ia3_weights: true,
    modules_to_save: null,
    target_modules: [...config.targetModules].sort(),
  };
}

export function ia3ConfigFromPeft(json: Readonly<Record<string, unknown>>, where: string): Ia3Config {
  const c = new ConfigReader(json, where);
  c.unsupported('fan_in_fan_out', isFalse, 'only torch Linear layout');
  c.unsupported('modules_to_save', isNullish, 'no fully trained extra modules');
  c.unsupported('exclude_modules', isNullish, 'no module exclusions');
  return validateIa3Config(
    {
      method: 'ia3',
      targetModules: c.modules('target_modules', true),
      feedforwardModules: c.modules('feedforward_modules', false),
    },
    where,
  );
}
