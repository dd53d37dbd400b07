import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { loraLinearReference } from '../kernels/lora-linear.js';
import { loraLinearWebgpu } from './lora-linear-webgpu.js';
import { finiteDifferences, rand, relErr, webgpuAvailability } from './webgpu-testing.js';

const gpu = await webgpuAvailability();
const title = 'loraLinearWebgpu (WGSL fused x·W + s·(x·A)·B)';

describe.skipIf(!gpu.ok)(gpu.ok ? `${title} on ${gpu.adapter}` : `${title}: skipped, ${gpu.reason}`, () => {
  beforeAll(async () => {
    await initBackend({ backend: 'webgpu', log: () => {} });
  });

  // Shapes not multiples of the 32x32x32 tile, so the edge handling is exercised: in = 37 and out = 50 take the
  // scalar loads, in = 36 and out = 44 (multiples of 4) bind x and W as vec4 arrays.
  for (const [rows, inDim, outDim, r] of [
    [19, 37, 50, 8],
    [9, 36, 44, 4],
  ] as const) {
    it(`matches plain tf in value and in the gradients of x, A and B, and finite differences (in ${inDim}, out ${outDim})`, async () => {
      const x = rand([2, rows, inDim], 1);
      const w = rand([inDim, outDim], 2) as tf.Tensor2D;
      const a = rand([inDim, r], 3) as tf.Tensor2D;
      const b = rand([r, outDim], 4) as tf.Tensor2D;
      const probe = rand([2, rows, outDim], 5);
      const s = 16 / r;
      type Lin = typeof loraLinearWebgpu;
      const loss = (lin: Lin) => (xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(tf.mul(lin(xi, w, ai as tf.Tensor2D, bi as tf.Tensor2D, s), probe)) as tf.Scalar;
      const y = loraLinearWebgpu(x, w, a, b, s);
      expect(y.shape).toEqual([2, rows, outDim]);
      // f32 sums of in + r terms, added in another order than the reference adds them.
      expect(await relErr(y, loraLinearReference(x, w, a, b, s))).toBeLessThan(1e-5);
      const got = tf.grads(loss(loraLinearWebgpu))([x, a, b]);
      const ref = tf.grads(loss(loraLinearReference))([x, a, b]);
      for (const [i, g] of got.entries()) expect(await relErr(g, ref[i]!), `input ${i}`).toBeLessThan(1e-5);
      const last = (t: tf.Tensor) => t.size - 1;
      const fds = [
        await finiteDifferences((v) => loss(loraLinearWebgpu)(v, a, b), x, got[0]!, [0, 100, last(x)]),
        await finiteDifferences((v) => loss(loraLinearWebgpu)(x, v, b), a, got[1]!, [0, 77, last(a)]),
        await finiteDifferences((v) => loss(loraLinearWebgpu)(x, a, v), b, got[2]!, [0, 123, last(b)]),
      ];
      for (const [an, nu] of fds.flat())
        expect(Math.abs(an - nu)).toBeLessThan(2e-3 * Math.max(1, Math.abs(nu)));
      tf.dispose([x, w, a, b, probe, y, ...got, ...ref]);
    });
  }

  it('leaves no tensors behind in a training step', async () => {
    const x = rand([40, 33], 6);
    const w = rand([33, 20], 7) as tf.Tensor2D;
    const a = tf.variable(rand([33, 4], 8));
    const b = tf.variable(rand([4, 20], 9));
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(
      () =>
        tf.sum(
          tf.square(loraLinearWebgpu(x, w, a as tf.Variable<tf.Rank.R2>, b as tf.Variable<tf.Rank.R2>, 2)),
        ),
      [a, b],
    );
    expect(Number.isFinite((await value.data())[0])).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, a, b]);
  });

  it('rejects mismatched shapes with a message naming them', () => {
    const x = tf.zeros([1, 2, 8]);
    expect(() => loraLinearWebgpu(x, tf.zeros([8, 6]), tf.zeros([8, 2]), tf.zeros([3, 6]), 1)).toThrow(
      /B \[3,6\]/,
    );
  });
});
