import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { embedding } from './embedding.js';
import { rmsNorm, rope, swiglu } from './fused-ops.js';
import { installKernels } from './index.js';
import { rand, useWasm } from './kernel-testing.js';
import { loraLinear } from './lora-linear.js';
import { multiLoraDelta } from './multi-lora.js';

/**
 * A decoder runs its forward pass in one tf.tidy and differentiates afterwards: every tensor a kernel's
 * backward pass reads must be saved, not captured. Here each kernel's inputs are built inside an inner
 * tf.tidy that has ended (disposing them) before the gradient is computed.
 */
describe('kernels keep what their backward pass needs past an inner tf.tidy', () => {
  beforeAll(async () => {
    await useWasm();
    installKernels();
  });

  const cases: Record<string, (v: tf.Variable) => tf.Tensor> = {
    loraLinear: (v) =>
      loraLinear(
        tf.mul(rand([2, 3, 8], 1), 1),
        rand([8, 6], 2) as tf.Tensor2D,
        tf.mul(v, 2) as tf.Tensor2D,
        rand([4, 6], 3) as tf.Tensor2D,
        0.5,
      ),
    multiLoraDelta: (v) =>
      multiLoraDelta(
        rand([2, 3, 8], 1) as tf.Tensor3D,
        tf.tensor1d([1, 0], 'int32'),
        tf.reshape(tf.concat([v, v]), [2, 8, 4]) as tf.Tensor3D,
        rand([2, 4, 6], 3) as tf.Tensor3D,
        0.5,
      ),
    embedding: (v) =>
      embedding(
        tf.reshape(tf.mul(v, 2), [8, 4]) as tf.Tensor2D,
        tf.tensor2d(
          [
            [1, 7],
            [7, 0],
          ],
          [2, 2],
          'int32',
        ),
      ),
    rmsNorm: (v) => rmsNorm(tf.mul(v, 2), tf.add(rand([4], 4), 2) as tf.Tensor1D, 1e-5),
    swiglu: (v) => swiglu(tf.mul(v, 2), tf.mul(v, 3)),
    rope: (v) => {
      const ang = rand([8, 2], 5);
      return rope(tf.reshape(tf.mul(v, 2), [8, 1, 4]) as tf.Tensor3D, tf.cos(ang), tf.sin(ang), 'half');
    },
  };

  for (const [name, f] of Object.entries(cases)) {
    it(name, () => {
      const v = tf.variable(rand([8, 4], 9));
      const { value, grads } = tf.variableGrads(() => {
        const y = tf.tidy(() => f(v)); // inputs built in here are gone when tidy returns
        return tf.sum(tf.square(y)) as tf.Scalar;
      }, [v]);
      const g = Object.values(grads)[0]!;
      expect(g.shape).toEqual([8, 4]);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
      tf.dispose([v, value, g]);
    });
  }
});
