import * as tf from '@tensorflow/tfjs-core';

/**
 * (IA)³ (Liu et al. 2022, HF PEFT `tuners/ia3`): a learned vector rescales a projection's output
 * (y = base(x) ⊙ l, l [out]) or, for feed-forward modules, its input (y = base(x ⊙ l), l [in]). Init: ones.
 */
export function ia3Linear(
  x: tf.Tensor3D,
  base: (x: tf.Tensor3D) => tf.Tensor3D,
  l: tf.Tensor1D,
  feedforward: boolean,
): tf.Tensor3D {
  return tf.tidy(() =>
    feedforward ? base(tf.mul(x, l) as tf.Tensor3D) : (tf.mul(base(x), l) as tf.Tensor3D),
  );
}
