import type { LlamaArrays, LlamaLayerArrays } from '@oppu/trainer';
import * as tf from '@tensorflow/tfjs-core';
import type { LlamaConfig } from '../model/llama-config.js';

/**
 * The pretraining's initial weights from `seed`: GPT-2's init, N(0, 0.02) with the residual output projections
 * (o_proj, down_proj) scaled by 1/sqrt(2 * layers), norm gains 1. Each matrix is one `tf.randomNormal` draw
 * seeded seed, seed + 1, ... in HF order (the embedding, then per layer q, k, v, o, gate, up, down, then an
 * untied lm_head), so a recipe's seed always gives the same weights. Projections are [in, out].
 */
export function initialWeights(config: LlamaConfig, seed: number): LlamaArrays {
  const { hiddenSize: d, intermediateSize: f, vocabSize: V, numLayers } = config;
  const kv = config.numKvHeads * (d / config.numHeads);
  let s = seed;
  const normal = (shape: [number, number], std: number) =>
    tf.tidy(() => tf.randomNormal(shape, 0, std, 'float32', s++).dataSync() as Float32Array);
  const std = 0.02;
  const resid = std / Math.sqrt(2 * numLayers);
  const ones = () => new Float32Array(d).fill(1);
  const embed = normal([V, d], std);
  const layers: LlamaLayerArrays[] = [];
  for (let l = 0; l < numLayers; l++) {
    layers.push({
      attnNorm: ones(),
      q_proj: normal([d, d], std),
      k_proj: normal([d, kv], std),
      v_proj: normal([d, kv], std),
      o_proj: normal([d, d], resid),
      ffnNorm: ones(),
      gate_proj: normal([d, f], std),
      up_proj: normal([d, f], std),
      down_proj: normal([f, d], resid),
    });
  }
  return {
    embed,
    layers,
    norm: ones(),
    ...(config.tieWordEmbeddings ? {} : { lmHead: normal([d, V], std) }),
  };
}
