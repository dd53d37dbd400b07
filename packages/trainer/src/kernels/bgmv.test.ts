import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BgmvAdapter, bgmvAdd, bgmvAvailable, bgmvGather } from './bgmv.js';
import { rand, relErr, useWasm } from './kernel-testing.js';
import { nativeKernels, useNative } from './native.js';

type Row = BgmvAdapter | null;

describe('bgmvAdd (serving multi-LoRA on the wasm heap)', () => {
  const [inDim, outDim] = [12, 10];
  let adapters: BgmvAdapter[] = [];
  let rows: Row[] = [];
  beforeAll(async () => {
    await useWasm();
    // Three adapters of different ranks; row 2 has none, adapter 0 serves two rows.
    adapters = [
      { a: rand([inDim, 3], 2) as tf.Tensor2D, b: rand([3, outDim], 3) as tf.Tensor2D, scale: 2 },
      { a: rand([inDim, 5], 4) as tf.Tensor2D, b: rand([5, outDim], 5) as tf.Tensor2D, scale: 0.5 },
      { a: rand([inDim, 1], 6) as tf.Tensor2D, b: rand([1, outDim], 7) as tf.Tensor2D, scale: 1 },
    ];
    rows = [adapters[0]!, adapters[1]!, null, adapters[0]!, adapters[2]!];
  });
  afterAll(() => tf.dispose(adapters.flatMap((a) => [a.a, a.b])));

  // The addon is optional (no compiler, no addon): its path is tested where it is built.
  for (const native of nativeKernels() ? [true, false] : [false]) {
    const path = native ? 'native SGEMM' : 'JS loops';
    it(`adds each row its own scale · x·A·B, and nothing to a row without an adapter (${path})`, () => {
      useNative(native);
      expect(bgmvAvailable()).toBe(true);
      const x = rand([5, 4, inDim], 1) as tf.Tensor3D;
      const y = rand([5, 4, outDim], 8) as tf.Tensor3D;
      const before = tf.memory().numTensors;
      const out = bgmvAdd(y, x, rows);
      expect(tf.memory().numTensors).toBe(before + 1);
      for (const [i, ad] of rows.entries()) {
        tf.tidy(() => {
          const xi = tf.reshape(tf.slice(x, [i, 0, 0], [1, -1, -1]), [4, inDim]) as tf.Tensor2D;
          const yi = tf.reshape(tf.slice(y, [i, 0, 0], [1, -1, -1]), [4, outDim]);
          const want = ad ? tf.add(yi, tf.mul(tf.matMul(tf.matMul(xi, ad.a), ad.b), ad.scale)) : yi;
          const got = tf.reshape(tf.slice(out, [i, 0, 0], [1, -1, -1]), [4, outDim]);
          expect(relErr(got, want), `row ${i}`).toBeLessThan(1e-5);
          if (!ad) expect([...got.dataSync()]).toEqual([...yi.dataSync()]);
        });
      }
      tf.dispose([x, y, out]);
      useNative(true);
    });

    it(`gives a row bit-identical values alone and in any batch (${path})`, () => {
      useNative(native);
      const x = rand([5, 3, inDim], 11) as tf.Tensor3D;
      const y = rand([5, 3, outDim], 12) as tf.Tensor3D;
      const whole = bgmvAdd(y, x, rows);
      const batched = whole.dataSync();
      rows.forEach((ad, i) => {
        const xi = tf.slice(x, [i, 0, 0], [1, -1, -1]) as tf.Tensor3D;
        const yi = tf.slice(y, [i, 0, 0], [1, -1, -1]) as tf.Tensor3D;
        const alone = bgmvAdd(yi, xi, [ad]);
        expect([...alone.dataSync()]).toEqual([...batched.subarray(i * 3 * outDim, (i + 1) * 3 * outDim)]);
        tf.dispose([xi, yi, alone]);
      });
      tf.dispose([x, y, whole]);
      useNative(true);
    });
  }

  it.skipIf(!nativeKernels())(
    'gathered once per batch: the same values, bit-identical alone and in any batch',
    () => {
      const x = rand([5, 3, inDim], 21) as tf.Tensor3D;
      const y = rand([5, 3, outDim], 22) as tf.Tensor3D;
      const before = tf.memory().numTensors;
      const gathered = bgmvGather(rows);
      expect(gathered?.a.shape).toEqual([5, inDim, 5]); // ranks 3, 5, 1 padded to 5
      const whole = bgmvAdd(y, x, rows, gathered);
      const perRow = bgmvAdd(y, x, rows);
      expect(relErr(whole, perRow)).toBeLessThan(1e-5);
      const batched = whole.dataSync();
      rows.forEach((ad, i) => {
        const xi = tf.slice(x, [i, 0, 0], [1, -1, -1]) as tf.Tensor3D;
        const yi = tf.slice(y, [i, 0, 0], [1, -1, -1]) as tf.Tensor3D;
        const one = bgmvGather([ad]);
        const alone = bgmvAdd(yi, xi, [ad], one);
        expect([...alone.dataSync()], `row ${i}`).toEqual([
          ...batched.subarray(i * 3 * outDim, (i + 1) * 3 * outDim),
        ]);
        one?.dispose();
        tf.dispose([xi, yi, alone]);
      });
      gathered?.dispose();
      tf.dispose([whole, perRow]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, y]);
    },
  );

  it('says what does not fit', () => {
    const x = rand([2, 1, inDim], 1) as tf.Tensor3D;
    const y = rand([2, 1, outDim], 2) as tf.Tensor3D;
    expect(() => bgmvAdd(y, x, [null])).toThrow(/1 row adapters for a batch of 2/);
    const wrong = {
      a: rand([inDim + 1, 2], 3) as tf.Tensor2D,
      b: rand([2, outDim], 4) as tf.Tensor2D,
      scale: 1,
    };
    expect(() => bgmvAdd(y, x, [null, wrong])).toThrow(/row 1's adapter A \[13,2\]/);
    tf.dispose([x, y, wrong.a, wrong.b]);
  });
});
