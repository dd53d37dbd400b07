import { resolve } from 'node:path';
import { TINY_MODEL_NAME } from '@oppu/model-tiny';
import { exportLlamaGguf, exportLoraGguf, type GgufExportResult } from '@oppu/trainer';
import { checkBaseModelDir, defaultBaseModelDir } from './base-model-dir.js';

export interface ExportGgufOptions {
  /** The base model folder (HF layout); default: the embedded tiny model. */
  readonly baseModelDir?: string;
  /** A user's LoRA adapter folder (PEFT layout): then only the adapter is written, checked against the base. */
  readonly adapterDir?: string;
  /** The .gguf file to write. */
  readonly out: string;
  /** `general.name`; default the model's name (the adapter folder's name for an adapter). */
  readonly name?: string;
}

/**
 * Writes the base model, or with `adapterDir` a user's LoRA adapter, as a float32 GGUF file for llama.cpp and
 * Ollama (`oppu export-gguf`): `llama-cli -m base.gguf --lora user.gguf` serves the user's adapter.
 */
export async function exportGguf(
  options: ExportGgufOptions,
): Promise<GgufExportResult & { kind: 'model' | 'adapter' }> {
  const dir = options.baseModelDir ? resolve(options.baseModelDir) : defaultBaseModelDir();
  checkBaseModelDir(dir, options.baseModelDir === undefined);
  const name =
    options.name ?? (options.baseModelDir === undefined && !options.adapterDir ? TINY_MODEL_NAME : undefined);
  const named = name !== undefined ? { name } : {};
  if (options.adapterDir)
    return {
      kind: 'adapter',
      ...(await exportLoraGguf(dir, resolve(options.adapterDir), resolve(options.out), named)),
    };
  return { kind: 'model', ...(await exportLlamaGguf(dir, resolve(options.out), named)) };
}
