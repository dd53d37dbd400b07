import type { HostTensor } from '@oppu/core';
import { type LlamaModel, writeSafetensors } from '@oppu/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { type LlamaConfig, toHfConfig } from './llama-config.js';

/** HF stores these [out, in]; the decoder holds them [in, out]. */
const transposed = (name: string) => name.endsWith('_proj.weight') || name === 'lm_head.weight';

/** The model's weights as HF tensors: HF names, [out, in] projections, float32 data. */
export function hfTensors(model: LlamaModel): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, v] of model.namedVariables()) {
    const hf = transposed(name) ? tf.tidy(() => tf.transpose(v)) : v;
    out.set(name, { shape: hf.shape.slice(), data: hf.dataSync() as Float32Array });
    if (hf !== v) hf.dispose();
  }
  return out;
}

/** Loads HF tensors ([out, in] projections) into the model's weights; every name and shape must match. */
export function assignHfTensors(
  model: LlamaModel,
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
): void {
  for (const [name, v] of model.namedVariables()) {
    const t = tensors.get(name);
    if (!t) throw new Error(`model.safetensors: no tensor ${name}`);
    const want = transposed(name) ? [v.shape[1], v.shape[0]] : v.shape;
    if (t.shape.join(',') !== want.join(','))
      throw new Error(`model.safetensors: tensor ${name} has shape [${t.shape}], expected [${want}]`);
    tf.tidy(() => {
      const x = tf.tensor(t.data, [...t.shape]);
      v.assign(transposed(name) ? tf.transpose(x) : x);
    });
  }
}

/** `model.safetensors` bytes of a model in HF layout ([out, in] projections), in float32 or float16. */
export function hfSafetensors(model: LlamaModel, dtype: 'float32' | 'float16'): Uint8Array {
  const tensors = new Map<string, HostTensor>();
  for (const [name, t] of hfTensors(model)) tensors.set(name, { dtype, shape: t.shape, data: t.data });
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
