import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OppuError } from '@oppu/core';
import type { TfBaseModel } from '@oppu/trainer';

/** The name adapters record as `base_model_name_or_path` for this model. */
export const TINY_MODEL_NAME = 'oppu/tiny-llama';

/**
 * Absolute path of the shipped HF folder: `config.json`, `model.safetensors` (fp16), `tokenizer.json`,
 * `tokenizer_config.json`, `generation_config.json`, `special_tokens_map.json`, `training_report.json`.
 */
export const modelDir: string = fileURLToPath(new URL('../model', import.meta.url));

export type LoadTinyModelOptions = Parameters<typeof TfBaseModel.load>[1];

/**
 * Loads the embedded model with `@oppu/trainer`'s HF loader as a `BaseModel` (generate, stream, score; adapters
 * through `resolveAdapter` / `resolveBatch`). Call the trainer's `initBackend()` first to pick the fast backend.
 */
export async function loadTinyModel(options: LoadTinyModelOptions = {}): Promise<TfBaseModel> {
  if (!existsSync(join(modelDir, 'model.safetensors'))) {
    throw new OppuError(
      'model_missing',
      `${modelDir}: no model.safetensors; reinstall @oppu/model-tiny, or rebuild it with \`pnpm --filter @oppu/model-tiny pretrain\``,
    );
  }
  const { TfBaseModel } = await import('@oppu/trainer');
  return TfBaseModel.load(modelDir, { name: TINY_MODEL_NAME, ...options });
}
