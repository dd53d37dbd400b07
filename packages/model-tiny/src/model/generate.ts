import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../train/rng.js';
import type { TinyLlama } from './tiny-llama.js';

export interface GenerateOptions {
  readonly maxNewTokens: number;
  /** 0 = greedy. */
  readonly temperature: number;
  readonly topK?: number;
  readonly seed?: number;
  readonly stopToken?: number;
}

/**
 * Continues `prompt` (token ids) one token at a time, re-running the whole window each step (no KV cache: this is
 * for the model card's samples, not for serving). Greedy at temperature 0, else top-k sampling with a seeded RNG.
 */
export function generate(model: TinyLlama, prompt: readonly number[], options: GenerateOptions): number[] {
  const rng = new Rng(options.seed ?? 1);
  const ids = [...prompt];
  const maxLen = model.config.maxPositionEmbeddings;
  for (let i = 0; i < options.maxNewTokens; i++) {
    const window = ids.slice(-maxLen);
    const logits = tf.tidy(() => {
      const out = model.forward(tf.tensor2d(window, [1, window.length], 'int32'));
      return tf.slice(out, [0, window.length - 1, 0], [1, 1, -1]).dataSync() as Float32Array;
    });
    const next =
      options.temperature <= 0
        ? argmax(logits)
        : sampleTopK(logits, options.temperature, options.topK ?? 40, rng);
    if (next === options.stopToken) break;
    ids.push(next);
  }
  return ids.slice(prompt.length);
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

function sampleTopK(logits: Float32Array, temperature: number, k: number, rng: Rng): number {
  const order = Array.from(logits.keys())
    .sort((a, b) => logits[b]! - logits[a]!)
    .slice(0, k);
  const max = logits[order[0]!]!;
  const weights = order.map((i) => Math.exp((logits[i]! - max) / temperature));
  const total = weights.reduce((s, w) => s + w, 0);
  let r = rng.next() * total;
  for (let j = 0; j < order.length; j++) {
    r -= weights[j]!;
    if (r <= 0) return order[j]!;
  }
  return order[order.length - 1]!;
}
