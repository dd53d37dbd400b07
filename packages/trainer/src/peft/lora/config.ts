import { type LoraConfig, OppuError } from '@oppu/core';
import { basePeftFields, ConfigReader, isEmpty, isFalse, isNullish } from '../format/config-fields.js';
import { checkModules } from '../model-dims.js';
import type { AdapterBaseInfo } from '../peft-method.js';

/** LoRA's scaling: alpha / r, or alpha / sqrt(r) with rsLoRA (PEFT `use_rslora`). */
export function loraScaling(config: Pick<LoraConfig, 'r' | 'alpha' | 'rslora'>): number {
  return config.rslora ? config.alpha / Math.sqrt(config.r) : config.alpha / config.r;
}

/**
 * The largest LoRA scaling (alpha / r, or alpha / sqrt(r) with rsLoRA) accepted. Recipes use 0.5 to 64 (PEFT's
 * default is 1); far beyond that the update swamps the base model's weights, or overflows float32.
 */
export const MAX_LORA_SCALING = 1024;

/** Checks a LoRA config; returns it with the module list de-duplicated and in decoder order. */
export function validateLoraConfig(config: LoraConfig, where = 'LoRA config'): LoraConfig {
  if (!Number.isSafeInteger(config.r) || config.r <= 0)
    throw new OppuError('invalid_peft_config', `${where}: r must be a positive integer, got ${config.r}`);
  if (!Number.isFinite(config.alpha) || config.alpha <= 0)
    throw new OppuError(
      'invalid_peft_config',
      `${where}: alpha must be a positive number, got ${config.alpha}`,
    );
  const scaling = loraScaling(config);
  if (scaling > MAX_LORA_SCALING)
    throw new OppuError(
      'invalid_peft_config',
      `${where}: alpha ${config.alpha} with r ${config.r} scales the update by ${scaling}; at most ${MAX_LORA_SCALING} is accepted`,
    );
  if (!(config.dropout >= 0 && config.dropout < 1))
    throw new OppuError('invalid_peft_config', `${where}: dropout must be in [0, 1), got ${config.dropout}`);
  const targetModules = checkModules(config.targetModules, `${where}: targetModules`);
  return {
    method: 'lora',
    r: config.r,
    alpha: config.alpha,
    dropout: config.dropout,
    targetModules,
    ...(config.rslora ? { rslora: true } : {}),
  };
}

/**
 * `adapter_config.json` for a LoRA, with the fields PEFT's `LoraConfig` writes (the set PEFT 0.10-0.13 writes;
 * later versions read it and fill their newer fields with defaults).
 */
export function loraConfigToPeft(config: LoraConfig, base: AdapterBaseInfo = {}): Record<string, unknown> {
  return {
    ...basePeftFields('LORA', base),
    alpha_pattern: {},
    bias: 'none',
    fan_in_fan_out: false,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: config.alpha,
    lora_dropout: config.dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    r: config.r,
    rank_pattern: {},
    target_modules: [...config.targetModules].sort(),
    use_dora: false,
    use_rslora: config.rslora === true,
  };
}

/** Our LoraConfig from a parsed `adapter_config.json`; features we do not implement are refused by name. */
export function loraConfigFromPeft(json: Readonly<Record<string, unknown>>, where: string): LoraConfig {
  const c = new ConfigReader(json, where);
  c.unsupported('use_dora', isFalse, 'DoRA adapters cannot be loaded');
  c.unsupported('bias', (v) => v === 'none' || v === null, 'only bias "none"');
  c.unsupported('fan_in_fan_out', isFalse, 'only torch Linear layout');
  c.unsupported('rank_pattern', isEmpty, 'one rank for every module');
  c.unsupported('alpha_pattern', isEmpty, 'one alpha for every module');
  c.unsupported('layers_to_transform', isNullish, 'adapters on every layer');
  c.unsupported('layer_replication', isNullish, 'no layer replication');
  c.unsupported('modules_to_save', isNullish, 'no fully trained extra modules');
  c.unsupported('target_parameters', isNullish, 'only Linear modules');
  c.unsupported('lora_bias', isFalse, 'no LoRA bias');
  const r = c.number('r', 8);
  return validateLoraConfig(
    {
      method: 'lora',
      r,
      alpha: c.number('lora_alpha', 8),
      dropout: c.number('lora_dropout', 0),
      targetModules: c.modules('target_modules', true),
      rslora: c.bool('use_rslora', false),
    },
    where,
  );
}
