import type { LlamaModel } from '@oppu/trainer';
import { softmaxCrossEntropy } from '@oppu/trainer/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { evalWindows } from './batches.js';

/**
 * Mean next-token cross-entropy (nats) of the model over a whole token stream, in windows of `seqLen`
 * (see `evalWindows`), `batch` windows per forward pass. `limit` caps the number of predicted tokens.
 */
export function evaluate(
  model: LlamaModel,
  stream: Uint16Array,
  options: { seqLen: number; batch: number; limit?: number; onWindow?: (done: number) => void },
): { crossEntropy: number; tokens: number } {
  const { seqLen, batch } = options;
  const limited =
    options.limit !== undefined && options.limit + 1 < stream.length
      ? stream.subarray(0, options.limit + 1)
      : stream;
  let nll = 0;
  let tokens = 0;
  let pending: { inputs: Int32Array; targets: Int32Array }[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const T = pending[0]!.inputs.length;
    const B = pending.length;
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    pending.forEach((w, i) => {
      x.set(w.inputs, i * T);
      y.set(w.targets, i * T);
    });
    const loss = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d(x, [B, T], 'int32'));
      return softmaxCrossEntropy(tf.reshape(logits, [B * T, -1]) as tf.Tensor2D, tf.tensor1d(y, 'int32'));
    });
    nll += loss.dataSync()[0]! * B * T;
    loss.dispose();
    tokens += B * T;
    pending = [];
    options.onWindow?.(tokens);
  };
  for (const w of evalWindows(limited, seqLen)) {
    if (pending.length > 0 && w.inputs.length !== pending[0]!.inputs.length) flush();
    pending.push(w);
    if (pending.length === batch) flush();
  }
  flush();
  return { crossEntropy: nll / tokens, tokens };
}
