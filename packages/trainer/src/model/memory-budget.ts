import * as tf from '@tensorflow/tfjs-core';
import { nativeKernels } from '../kernels/native.js';
import type { PeftModelDims } from '../peft/model-dims.js';

/**
 * How many token positions one forward pass may hold, from the decoder's sizes: the default of the token
 * budgets that batch training (`TrainOptions.maxBatchTokens`) and inference (`TfBaseModelOptions.maxBatchTokens`).
 *
 * The activation memory of a pass grows with its token positions (rows x padded length): per position and
 * layer, the hidden states and projections (about 15 d + 3 f floats kept for the backward pass in training,
 * 12 d + 3 f alive at once in inference, which frees each layer's intermediates when it is done) and the
 * attention row over `length` keys (h floats per key; 4 h in inference: scores, scaled, masked, softmax), plus
 * the output head (6 vocab floats in training: logits, the loss gradient and the per-row report; the last
 * position only when decoding) and the KV cache. Training without the native kernels (`OPPU_NATIVE=0`, or a
 * backend other than wasm) runs their plain-tf references, which keep more: about 7 h floats a key and 24 vocab
 * floats a position. Measured on the embedded model (4 layers, d 256, f 704, 4 heads, vocab 4,096) with
 * `wasmHeapUsage`, per position at length 128 and 1,024: training 275 and 327 KiB (native kernels), 690 and
 * 1,056 KiB (without); inference 39 and 103 KiB (62 and 120 without). The estimates below are those formulas
 * times 1.5; they stay above every measurement.
 */

/** Activation bytes one pass may take by default: a quarter of the 4 GiB wasm heap. */
export const DEFAULT_ACTIVATION_BYTES = 2 ** 30;

type Dims = PeftModelDims & { readonly vocabSize: number };

const SAFETY = 1.5;

/** Whether training runs the fused native kernels (the wasm backend with the addon loaded). */
export function nativeTraining(): boolean {
  return tf.getBackend() === 'wasm' && nativeKernels() !== null;
}

/**
 * Estimated bytes a training pass takes per token position, at `length` positions a row; `native`: whether
 * the fused native kernels run (default: as now, `nativeTraining()`).
 */
export function trainingBytesPerToken(dims: Dims, length: number, native = nativeTraining()): number {
  const d = dims.hiddenSize;
  const f = dims.intermediateSize;
  const h = dims.numAttentionHeads;
  const floats = native
    ? dims.numLayers * (15 * d + 3 * f + h * length) + 6 * dims.vocabSize
    : dims.numLayers * (15 * d + 3 * f + 7 * h * length) + 24 * dims.vocabSize;
  return 4 * SAFETY * floats;
}

/** Estimated bytes an inference pass (a prefill, or a scoring pass) takes per token position over `keys` keys. */
export function inferenceBytesPerToken(dims: Dims, keys: number): number {
  const d = dims.hiddenSize;
  const f = dims.intermediateSize;
  const h = dims.numAttentionHeads;
  const kv = 2 * dims.numKeyValueHeads * (dims.headDim ?? d / h);
  const floats = 4 * h * keys + 12 * d + 3 * f + dims.numLayers * kv;
  return 4 * SAFETY * floats;
}

/**
 * The default token budget of a pass whose rows are up to `length` positions long: what
 * `DEFAULT_ACTIVATION_BYTES` (or `bytes`) holds, and never less than one row of `length`.
 */
export function defaultBatchTokens(
  dims: Dims,
  length: number,
  kind: 'training' | 'inference',
  bytes = DEFAULT_ACTIVATION_BYTES,
): number {
  const perToken =
    kind === 'training' ? trainingBytesPerToken(dims, length) : inferenceBytesPerToken(dims, length);
  return Math.max(length, Math.floor(bytes / perToken));
}
