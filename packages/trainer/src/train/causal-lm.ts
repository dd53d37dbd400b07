import type * as tf from '@tensorflow/tfjs-core';
import type { LinearAdapter } from '../model/hooks.js';
import type { PeftModelDims } from '../peft/model-dims.js';

/**
 * What training needs from a decoder: its sizes and a differentiable forward pass through an adapter.
 * `forward` returns logits [batch, prefix + seq, vocab], where `prefix` is the adapter's soft-prompt length
 * (0 without prompt tuning); the trainer drops the prefix positions.
 */
export interface TrainableCausalLM {
  readonly dims: PeftModelDims & { readonly vocabSize: number };
  forward(ids: tf.Tensor2D, adapter?: LinearAdapter): tf.Tensor3D;
}
