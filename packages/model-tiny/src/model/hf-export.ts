import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostTensor } from '@oppu/core';
import { writeSafetensors } from '@oppu/trainer';
import { type LlamaConfig, toHfConfig } from './llama-config.js';
import type { TinyLlama } from './tiny-llama.js';

/** `model.safetensors` bytes of a model in HF layout ([out, in] projections), in float32 or float16. */
export function hfSafetensors(model: TinyLlama, dtype: 'float32' | 'float16'): Uint8Array {
  const tensors = new Map<string, HostTensor>();
  for (const [name, t] of model.exportHfTensors()) tensors.set(name, { dtype, shape: t.shape, data: t.data });
  return writeSafetensors(tensors, { format: 'pt' });
}

/** The files of an HF model folder: config, generation config, weights, tokenizer and its config. */
export function hfModelFiles(
  config: LlamaConfig,
  safetensors: Uint8Array,
  tokenizer: Record<string, unknown>,
  tokenizerConfig: Record<string, unknown>,
): Record<string, string | Uint8Array> {
  const json = (x: unknown) => `${JSON.stringify(x, null, 2)}\n`;
  return {
    'config.json': json(toHfConfig(config)),
    'generation_config.json': json({
      bos_token_id: config.bosTokenId,
      eos_token_id: config.eosTokenId,
      pad_token_id: config.padTokenId,
    }),
    'model.safetensors': safetensors,
    'tokenizer.json': JSON.stringify(tokenizer),
    'tokenizer_config.json': json(tokenizerConfig),
    'special_tokens_map.json': json({
      bos_token: '<s>',
      eos_token: '</s>',
      unk_token: '<unk>',
      pad_token: '<pad>',
    }),
  };
}

/** Writes all files into `<dir>.tmp-<pid>`, then swaps the folder in with renames (readers never see half). */
export function writeModelDir(dir: string, files: Record<string, string | Uint8Array>): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const [name, data] of Object.entries(files)) writeFileSync(join(tmp, name), data);
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}
