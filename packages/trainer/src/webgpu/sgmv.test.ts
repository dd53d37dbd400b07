import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { segmentsOf, sgmv, sgmvReference } from './sgmv.js';
import { finiteDifferences, rand, relErr, webgpuAvailability } from './webgpu-testing.js';

const gpu = await webgpuAvailability();
const title = 'sgmv (WGSL segmented multi-adapter LoRA, prefill and training)';

describe.skipIf(!gpu.ok)(gpu.ok ? `${title} on ${gpu.adapter}` : `${title}: skipped, ${gpu.reason}`, () => {
  beforeAll(async () => {
    await initBackend({ backend: 'webgpu', log: () => {} });
  });

  it('matches the one-hot reference in value and gradients across segment and tile boundaries', async () => {
    // 75 rows in segments of 20, 0, 33 and 22 rows: adapters 2, 0, 2 and none (-1). Segments cross the 32-row
    // blocks of the kernel, one is empty, adapter 2 has two segments, adapter 1 none.
    const seg = segmentsOf([20, 0, 33, 22], [2, 0, 2, -1]);
    const x = rand([75, 37], 1) as tf.Tensor2D;
    const a = rand([3, 37, 8], 2) as tf.Tensor3D;
    const b = rand([3, 8, 41], 3) as tf.Tensor3D;
    const probe = rand([75, 41], 4);
    const s = 0.5;
    type Op = typeof sgmv;
    const loss = (op: Op) => (xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(tf.mul(op(xi as tf.Tensor2D, seg, ai as tf.Tensor3D, bi as tf.Tensor3D, s), probe)) as tf.Scalar;
    const y = sgmv(x, seg, a, b, s);
    expect(y.shape).toEqual([75, 41]);
    expect(await relErr(y, sgmvReference(x, seg, a, b, s))).toBeLessThan(1e-5);
    expect(Array.from(await tf.slice(y, [53, 0], [22, 41]).data()).every((v) => v === 0)).toBe(true);
    const got = tf.grads(loss(sgmv))([x, a, b]);
    const ref = tf.grads(loss(sgmvReference))([x, a, b]);
    for (const [i, g] of got.entries()) expect(await relErr(g, ref[i]!), `input ${i}`).toBeLessThan(1e-5);
    for (const g of got.slice(1)) {
      expect((await tf.slice(g, [1, 0, 0], [1, -1, -1]).data()).every((v) => v === 0)).toBe(true);
    }
    const fds = [
      await finiteDifferences((v) => loss(sgmv)(v, a, b), x, got[0]!, [0, 1200, 2774]),
      await finiteDifferences((v) => loss(sgmv)(x, v, b), a, got[1]!, [0, 400, 887]),
      await finiteDifferences((v) => loss(sgmv)(x, a, v), b, got[2]!, [5, 700, 983]),
    ];
    for (const [an, nu] of fds.flat())
      expect(Math.abs(an - nu)).toBeLessThan(2e-3 * Math.max(1, Math.abs(nu)));
    tf.dispose([x, a, b, probe, y, ...got, ...ref]);
  });

  it('one segment per user equals running each user alone (isolation)', async () => {
    const x = rand([64, 24], 5) as tf.Tensor2D;
    const a = rand([2, 24, 4], 6) as tf.Tensor3D;
    const b = rand([2, 4, 16], 7) as tf.Tensor3D;
    const both = sgmv(x, segmentsOf([40, 24], [1, 0]), a, b, 1);
    const first = sgmv(tf.slice(x, [0, 0], [40, 24]), segmentsOf([40], [1]), a, b, 1);
    const second = sgmv(tf.slice(x, [40, 0], [24, 24]), segmentsOf([24], [0]), a, b, 1);
    expect(await relErr(both, tf.concat([first, second]))).toBeLessThan(1e-6);
    tf.dispose([x, a, b, both, first, second]);
  });

  it('rejects a segment layout that does not cover the rows, naming it', () => {
    const x = tf.zeros([10, 8]) as tf.Tensor2D;
    const a = tf.zeros([2, 8, 2]) as tf.Tensor3D;
    const b = tf.zeros([2, 2, 4]) as tf.Tensor3D;
    expect(() => sgmv(x, segmentsOf([4, 4], [0, 1]), a, b, 1)).toThrow(
      /from 0 to the row count 10; got \[0, 4, 8\]/,
    );
    expect(() => sgmv(x, { offsets: [0, 6, 10], adapterIds: [0] }, a, b, 1)).toThrow(
      /1 adapter ids need 2 offsets/,
    );
    expect(() => sgmv(x, { offsets: [0, 6, 4, 10], adapterIds: [0, 1, 0] }, a, b, 1)).toThrow(/segment 1/);
  });
});
