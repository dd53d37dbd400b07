import type { Rng } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * A random batch of windows from a token stream: `batch` windows of `seqLen + 1` tokens at uniform offsets;
 * inputs are the first `seqLen`, targets the last `seqLen` (next-token prediction). Returns int32 [B, T] pairs.
 */
export function randomBatch(
  stream: Uint16Array,
  batch: number,
  seqLen: number,
  rng: Rng,
): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
  if (stream.length < seqLen + 1) {
    throw new Error(
      `randomBatch: stream of ${stream.length} tokens is shorter than one window of ${seqLen + 1}`,
    );
  }
  const x = new Int32Array(batch * seqLen);
  const y = new Int32Array(batch * seqLen);
  for (let b = 0; b < batch; b++) {
    const start = rng.int(0, stream.length - seqLen - 1);
    for (let t = 0; t < seqLen; t++) {
      x[b * seqLen + t] = stream[start + t]!;
      y[b * seqLen + t] = stream[start + t + 1]!;
    }
  }
  return {
    inputs: tf.tensor2d(x, [batch, seqLen], 'int32'),
    targets: tf.tensor2d(y, [batch, seqLen], 'int32'),
  };
}

/**
 * Consecutive windows that predict every token of `stream` except the first exactly once (the positions that
 * `KneserNeyTrigram.crossEntropy` scores): window k has inputs stream[kT .. kT+T) and targets one further on,
 * so a token sees between 1 and T tokens of context. The last window may be shorter.
 */
export function* evalWindows(
  stream: Uint16Array,
  seqLen: number,
): Generator<{ inputs: Int32Array; targets: Int32Array }> {
  for (let start = 0; start + 1 < stream.length; start += seqLen) {
    const end = Math.min(stream.length - 1, start + seqLen);
    const n = end - start;
    const inputs = new Int32Array(n);
    const targets = new Int32Array(n);
    for (let t = 0; t < n; t++) {
      inputs[t] = stream[start + t]!;
      targets[t] = stream[start + t + 1]!;
    }
    yield { inputs, targets };
  }
}
