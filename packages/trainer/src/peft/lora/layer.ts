import * as tf from '@tensorflow/tfjs-core';

/**
 * LoRA's math (Hu et al. 2021, as HF PEFT's `lora.Linear`): y = base(x) + scaling · dropout(x) · A · B.
 * We keep A as [in, r] and B as [r, out] (x · W layout); PEFT stores the transposes, `lora_A.weight` [r, in]
 * and `lora_B.weight` [out, r].
 */

/**
 * PEFT's default init of A: `kaiming_uniform_(a=sqrt(5))` on the [r, in] weight, i.e. U(-1/sqrt(in), 1/sqrt(in)).
 * Returned as [in, r].
 */
export function initLoraA(inFeatures: number, r: number, seed: number): tf.Tensor2D {
  const bound = 1 / Math.sqrt(inFeatures);
  return tf.randomUniform([inFeatures, r], -bound, bound, 'float32', seed) as tf.Tensor2D;
}

/** B starts at zero, so a fresh adapter leaves the model unchanged. [r, out] */
export function initLoraB(r: number, outFeatures: number): tf.Tensor2D {
  return tf.zeros([r, outFeatures]);
}

/**
 * The LoRA delta of one projection, reference implementation in plain tf ops.
 * x [batch, seq, in], a [in, r], b [r, out] -> [batch, seq, out].
 */
export function loraDelta(
  x: tf.Tensor3D,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  scaling: number,
  dropout?: { readonly rate: number; readonly seed: number },
): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, seq, inF] = x.shape;
    const xin = dropout && dropout.rate > 0 ? tf.dropout(x, dropout.rate, undefined, dropout.seed) : x;
    const h = tf.matMul(tf.reshape(xin, [batch * seq, inF]), a); // [batch*seq, r]
    const y = tf.matMul(h, b); // [batch*seq, out]
    return tf.reshape(tf.mul(y, scaling), [batch, seq, b.shape[1]]) as tf.Tensor3D;
  });
}

/** The dense update a LoRA adds to a [in, out] weight: scaling · A · B. */
export function loraDeltaWeight(a: tf.Tensor2D, b: tf.Tensor2D, scaling: number): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.matMul(a, b), scaling));
}
