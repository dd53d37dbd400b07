import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { causalAttention, causalAttentionReference } from './attention.js';
import { finiteDifferences, rand, relErr, useWasm } from './kernel-testing.js';
import { nativeKernels } from './native.js';

const native = nativeKernels();
// With the addon: each instruction set the CPU runs (the fused op's GEMMs and softmax follow it).
const isas = native ? ['avx512', 'avx2', 'generic'].filter((isa) => native.setIsa(isa)) : [];
native?.setIsa('best');

for (const isa of isas)
  describe(`causalAttention (native ${isa} on wasm)`, () => {
    beforeAll(async () => {
      await useWasm();
      native!.setIsa(isa);
    });
    afterAll(() => {
      native!.setIsa('best');
    });

    // t = 37 and 70: one and three ragged blocks of the block-triangular products; kvh < h: grouped-query.
    for (const [b, t, h, kvh, hd] of [
      [2, 37, 4, 2, 8],
      [1, 70, 2, 1, 16],
      [3, 5, 3, 3, 4],
    ] as const) {
      it(`matches plain tf in value and in dq, dk, dv (b ${b}, t ${t}, heads ${h}/${kvh}, hd ${hd})`, () => {
        const q = tf.mul(rand([b, t, h, hd], 1), 2) as tf.Tensor4D;
        const k = tf.mul(rand([b, t, kvh, hd], 2), 2) as tf.Tensor4D;
        const v = rand([b, t, kvh, hd], 3) as tf.Tensor4D;
        const probe = rand([b, t, h, hd], 4);
        const scale = 1 / Math.sqrt(hd);
        const ref = (qi: tf.Tensor4D, ki: tf.Tensor4D, vi: tf.Tensor4D) =>
          causalAttentionReference(qi, ki, vi, scale, { reference: true });
        const fused = (qi: tf.Tensor4D, ki: tf.Tensor4D, vi: tf.Tensor4D) =>
          causalAttention(qi, ki, vi, scale);
        const loss = (f: typeof fused) => (qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor) =>
          tf.sum(tf.mul(f(qi as tf.Tensor4D, ki as tf.Tensor4D, vi as tf.Tensor4D), probe)) as tf.Scalar;
        expect(relErr(fused(q, k, v), ref(q, k, v))).toBeLessThan(1e-5);
        const got = tf.grads(loss(fused))([q, k, v]);
        const want = tf.grads(loss(ref))([q, k, v]);
        for (const [i, g] of got.entries()) expect(relErr(g, want[i]!), `input ${i}`).toBeLessThan(1e-5);
        const inputs = [q, k, v];
        for (const [i, x] of inputs.entries()) {
          const fd = finiteDifferences(
            (e) =>
              loss(fused)(...(inputs.map((y, j) => (j === i ? e : y)) as [tf.Tensor, tf.Tensor, tf.Tensor])),
            x,
            got[i]!,
            [0, 7, x.size - 1],
          );
          for (const [an, nu] of fd) expect(Math.abs(an - nu)).toBeLessThan(2e-3 * Math.max(1, Math.abs(nu)));
        }
        tf.dispose([q, k, v, probe, ...got, ...want]);
      });
    }

    it('a query never sees a later position: changing the last key and value leaves earlier outputs as they were', () => {
      const [b, t, h, hd] = [1, 40, 2, 8];
      const q = rand([b, t, h, hd], 5) as tf.Tensor4D;
      const k = rand([b, t, h, hd], 6) as tf.Tensor4D;
      const v = rand([b, t, h, hd], 7) as tf.Tensor4D;
      const last = tf.concat([tf.zeros([b, t - 1, h, hd]), tf.ones([b, 1, h, hd])], 1);
      const y1 = causalAttention(q, k, v, 0.3);
      const y2 = causalAttention(q, tf.add(k, last) as tf.Tensor4D, tf.add(v, last) as tf.Tensor4D, 0.3);
      const early = (y: tf.Tensor) => tf.slice(y, [0, 0, 0, 0], [b, t - 1, h, hd]);
      expect(relErr(early(y1), early(y2))).toBe(0);
      expect(relErr(y1, y2)).toBeGreaterThan(1e-3);
    });

    it('rejects shapes that do not fit, naming them', () => {
      expect(() =>
        causalAttention(tf.zeros([1, 4, 3, 8]), tf.zeros([1, 4, 2, 8]), tf.zeros([1, 4, 2, 8]), 1),
      ).toThrow(/kvh dividing 3.*k \[1,4,2,8\]/);
      expect(() =>
        causalAttention(tf.zeros([1, 4, 2, 8]), tf.zeros([1, 5, 2, 8]), tf.zeros([1, 5, 2, 8]), 1),
      ).toThrow(/causalAttention/);
    });
  });

describe('causalAttention without the addon', () => {
  it('is the plain-tf form', async () => {
    await useWasm();
    const q = rand([1, 6, 2, 4], 8) as tf.Tensor4D;
    const k = rand([1, 6, 1, 4], 9) as tf.Tensor4D;
    const v = rand([1, 6, 1, 4], 10) as tf.Tensor4D;
    const want = causalAttentionReference(q, k, v, 0.5, { reference: true });
    expect(relErr(causalAttentionReference(q, k, v, 0.5), want)).toBeLessThan(1e-6);
  });
});
