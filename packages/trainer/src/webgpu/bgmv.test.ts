import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { bgmv, bgmvReference } from './bgmv.js';
import { finiteDifferences, rand, relErr, webgpuAvailability } from './webgpu-testing.js';

const gpu = await webgpuAvailability();
const title = 'bgmv (WGSL per-row multi-adapter LoRA, decoding)';

describe.skipIf(!gpu.ok)(gpu.ok ? `${title} on ${gpu.adapter}` : `${title}: skipped, ${gpu.reason}`, () => {
  beforeAll(async () => {
    await initBackend({ backend: 'webgpu', log: () => {} });
  });

  it('matches the one-hot reference in value and gradients; -1 rows get no adapter; absent adapters get zeros', async () => {
    // 7 rows (one token each of 7 users) over 4 stacked adapters; adapter 1 is absent, one row has none (-1).
    const ids = tf.tensor1d([2, 0, 3, -1, 2, 0, 2], 'int32');
    const x = rand([7, 70], 1) as tf.Tensor2D; // in = 70: the shrink splits it over 64 threads, unevenly
    const a = rand([4, 70, 8], 2) as tf.Tensor3D;
    const b = rand([4, 8, 45], 3) as tf.Tensor3D;
    const probe = rand([7, 45], 4);
    const s = 2;
    type Op = typeof bgmv;
    const loss = (op: Op) => (xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(tf.mul(op(xi as tf.Tensor2D, ids, ai as tf.Tensor3D, bi as tf.Tensor3D, s), probe)) as tf.Scalar;
    const y = bgmv(x, ids, a, b, s);
    expect(y.shape).toEqual([7, 45]);
    expect(await relErr(y, bgmvReference(x, ids, a, b, s))).toBeLessThan(1e-5);
    expect(Array.from(await tf.slice(y, [3, 0], [1, 45]).data()).every((v) => v === 0)).toBe(true);
    const got = tf.grads(loss(bgmv))([x, a, b]);
    const ref = tf.grads(loss(bgmvReference))([x, a, b]);
    for (const [i, g] of got.entries()) expect(await relErr(g, ref[i]!), `input ${i}`).toBeLessThan(1e-5);
    // Adapter 1 served no row: its gradients are exactly zero.
    for (const g of got.slice(1)) {
      const slot1 = await tf.slice(g, [1, 0, 0], [1, -1, -1]).data();
      expect(slot1.every((v) => v === 0)).toBe(true);
    }
    const fds = [
      await finiteDifferences((v) => loss(bgmv)(v, a, b), x, got[0]!, [0, 75, 489]),
      await finiteDifferences((v) => loss(bgmv)(x, v, b), a, got[1]!, [0, 1500, 2239]),
      await finiteDifferences((v) => loss(bgmv)(x, a, v), b, got[2]!, [0, 800, 1439]),
    ];
    for (const [an, nu] of fds.flat())
      expect(Math.abs(an - nu)).toBeLessThan(2e-3 * Math.max(1, Math.abs(nu)));
    tf.dispose([ids, x, a, b, probe, y, ...got, ...ref]);
  });

  it('rejects ids of the wrong type or length', () => {
    const x = tf.zeros([3, 8]) as tf.Tensor2D;
    const a = tf.zeros([2, 8, 2]) as tf.Tensor3D;
    const b = tf.zeros([2, 2, 4]) as tf.Tensor3D;
    expect(() => bgmv(x, tf.tensor1d([0, 1, 0]), a, b, 1)).toThrow(/ids must be int32 \[3\]/);
    expect(() => bgmv(x, tf.tensor1d([0, 1], 'int32'), a, b, 1)).toThrow(/ids must be int32 \[3\]/);
    expect(() => bgmv(x, tf.tensor1d([0, 1, 0], 'int32'), a, tf.zeros([3, 2, 4]) as tf.Tensor3D, 1)).toThrow(
      /B \[3,2,4\]/,
    );
  });
});
