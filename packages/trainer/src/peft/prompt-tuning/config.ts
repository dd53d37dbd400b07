import { OppuError, type PromptTuningConfig } from '@oppu/core';
import { basePeftFields, ConfigReader, isNullish } from '../format/config-fields.js';
import type { PeftModelDims } from '../model-dims.js';
import type { AdapterBaseInfo } from '../peft-method.js';

/** The most virtual tokens accepted: they are put before every prompt, inside the model's context. */
export const MAX_VIRTUAL_TOKENS = 4096;

export function validatePromptTuningConfig(
  config: PromptTuningConfig,
  where = 'prompt tuning config',
): PromptTuningConfig {
  if (
    !Number.isSafeInteger(config.numVirtualTokens) ||
    config.numVirtualTokens <= 0 ||
    config.numVirtualTokens > MAX_VIRTUAL_TOKENS
  )
    throw new OppuError(
      'invalid_peft_config',
      `${where}: numVirtualTokens must be an integer from 1 to ${MAX_VIRTUAL_TOKENS}, got ${config.numVirtualTokens}`,
    );
  if (config.initText !== undefined && config.initText.length === 0)
    throw new OppuError(
      'invalid_peft_config',
      `${where}: initText is empty (leave it out for a random init)`,
    );
  return {
    method: 'prompt',
    numVirtualTokens: config.numVirtualTokens,
    ...(config.initText !== undefined ? { initText: config.initText } : {}),
  };
}

/** `adapter_config.json` for prompt tuning, with the fields PEFT's `PromptTuningConfig` writes. */
export function promptTuningConfigToPeft(
  config: PromptTuningConfig,
  dims: PeftModelDims,
  base: AdapterBaseInfo = {},
): Record<string, unknown> {
  const text = config.initText !== undefined;
  return {
    ...basePeftFields('PROMPT_TUNING', base),
    modules_to_save: null,
    num_attention_heads: dims.numAttentionHeads,
    num_layers: dims.numLayers,
    num_transformer_submodules: 1,
    num_virtual_tokens: config.numVirtualTokens,
    prompt_tuning_init: text ? 'TEXT' : 'RANDOM',
    prompt_tuning_init_text: config.initText ?? null,
    token_dim: dims.hiddenSize,
    tokenizer_kwargs: null,
    tokenizer_name_or_path: text ? (base.baseModelNameOrPath ?? null) : null,
  };
}

export function promptTuningConfigFromPeft(
  json: Readonly<Record<string, unknown>>,
  where: string,
  dims?: PeftModelDims,
): PromptTuningConfig {
  const c = new ConfigReader(json, where);
  c.unsupported('modules_to_save', isNullish, 'no fully trained extra modules');
  c.unsupported(
    'num_transformer_submodules',
    (v) => v === 1 || v === null,
    'decoder-only models (1 submodule)',
  );
  if (dims) {
    const tokenDim = c.number('token_dim', dims.hiddenSize);
    if (tokenDim !== dims.hiddenSize)
      throw new OppuError(
        'adapter_mismatch',
        `${where}: token_dim ${tokenDim} does not match the model's hidden size ${dims.hiddenSize}`,
      );
  }
  const initText =
    c.string('prompt_tuning_init') === 'TEXT' ? c.string('prompt_tuning_init_text') : undefined;
  return validatePromptTuningConfig(
    {
      method: 'prompt',
      numVirtualTokens: c.number('num_virtual_tokens'),
      ...(initText !== undefined ? { initText } : {}),
    },
    where,
  );
}
