import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finiteDifferences, rand, relErr, useWasm } from './kernel-testing.js';
import { loraLinearReference } from './lora-linear.js';
import { installMatMul, restoreStockMatMul } from './mat-mul.js';
import { multiLoraDelta, multiLoraDeltaReference, multiLoraLinear } from './multi-lora.js';

describe('multiLoraDelta (BGMV/SGMV: one adapter per sequence)', () => {
  beforeAll(useWasm);
  afterAll(restoreStockMatMul);
  const [n, inDim, r, outDim] = [5, 12, 3, 10];
  const ids = [4, 1, 4, 0]; // adapters 2 and 3 are absent; 4 is used twice

  for (const native of [true, false]) {
    it(`matches the one-hot plain-tf reference in value and gradients (${native ? 'native' : 'wasm'})`, () => {
      installMatMul({ native });
      const x = rand([4, 6, inDim], 1);
      const a = rand([n, inDim, r], 2);
      const b = rand([n, r, outDim], 3);
      const idt = tf.tensor1d(ids, 'int32');
      const probe = rand([4, 6, outDim], 4);
      const loss = (f: typeof multiLoraDelta) => (xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(
          tf.mul(f(xi as tf.Tensor3D, idt, ai as tf.Tensor3D, bi as tf.Tensor3D, 2), probe),
        ) as tf.Scalar;
      expect(relErr(multiLoraDelta(x, idt, a, b, 2), multiLoraDeltaReference(x, idt, a, b, 2))).toBeLessThan(
        1e-5,
      );
      const got = tf.grads(loss(multiLoraDelta))([x, a, b]);
      const ref = tf.grads(loss(multiLoraDeltaReference))([x, a, b]);
      for (const [i, g] of got.entries()) expect(relErr(g, ref[i]!), `input ${i}`).toBeLessThan(1e-5);
      const fds = [
        finiteDifferences((v) => loss(multiLoraDelta)(v, a, b), x, got[0]!, [0, 77, 287]),
        finiteDifferences((v) => loss(multiLoraDelta)(x, v, b), a, got[1]!, [0, 40, 179]),
        finiteDifferences((v) => loss(multiLoraDelta)(x, a, v), b, got[2]!, [0, 31, 149]),
      ];
      for (const [an, nu] of fds.flat())
        expect(Math.abs(an - nu)).toBeLessThan(2e-3 * Math.max(1, Math.abs(nu)));
      tf.dispose([x, a, b, idt, probe, ...got, ...ref]);
    });
  }

  it('gives each adapter exactly the gradient of its own sequences, and absent adapters zero', () => {
    installMatMul();
    const x = rand([4, 6, inDim], 5);
    const w = rand([inDim, outDim], 6);
    const a = rand([n, inDim, r], 7);
    const b = rand([n, r, outDim], 8);
    const idt = tf.tensor1d(ids, 'int32');
    const [, da, db] = tf.grads((xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(tf.square(multiLoraLinear(xi as tf.Tensor3D, w, idt, ai as tf.Tensor3D, bi as tf.Tensor3D, 2))),
    )([x, a, b]);
    for (let k = 0; k < n; k++) {
      const rows = ids.flatMap((id, i) => (id === k ? [i] : []));
      const dak = tf.squeeze(tf.slice(da!, [k, 0, 0], [1, inDim, r]));
      const dbk = tf.squeeze(tf.slice(db!, [k, 0, 0], [1, r, outDim]));
      if (rows.length === 0) {
        expect(tf.max(tf.abs(dak)).dataSync()[0]).toBe(0);
        expect(tf.max(tf.abs(dbk)).dataSync()[0]).toBe(0);
        continue;
      }
      // The same user trained alone, on only their sequences, with an ordinary single-adapter LoRA.
      const xk = tf.gather(x, tf.tensor1d(rows, 'int32')) as tf.Tensor3D;
      const ak = tf.squeeze(tf.slice(a, [k, 0, 0], [1, inDim, r])) as tf.Tensor2D;
      const bk = tf.squeeze(tf.slice(b, [k, 0, 0], [1, r, outDim])) as tf.Tensor2D;
      const [ga, gb] = tf.grads((ai: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(tf.square(loraLinearReference(xk, w, ai as tf.Tensor2D, bi as tf.Tensor2D, 2))),
      )([ak, bk]);
      expect(relErr(dak, ga!), `adapter ${k} A`).toBeLessThan(1e-5);
      expect(relErr(dbk, gb!), `adapter ${k} B`).toBeLessThan(1e-5);
    }
  });

  it('serves 32 distinct adapters in one decoding step (seq = 1) like 32 separate single-adapter passes', () => {
    installMatMul();
    const users = 32;
    const x = rand([users, 1, inDim], 9);
    const a = rand([users, inDim, r], 10);
    const b = rand([users, r, outDim], 11);
    const idt = tf.range(0, users, 1, 'int32') as tf.Tensor1D;
    const batched = multiLoraDelta(x, idt, a, b, 0.5);
    const separate = tf.concat(
      Array.from({ length: users }, (_, u) =>
        tf.tidy(() => {
          const au = tf.reshape(tf.slice(a, [u, 0, 0], [1, inDim, r]), [inDim, r]);
          const bu = tf.reshape(tf.slice(b, [u, 0, 0], [1, r, outDim]), [r, outDim]);
          return tf.mul(
            tf.matMul(tf.matMul(tf.reshape(tf.slice(x, [u, 0, 0], [1, 1, inDim]), [1, inDim]), au), bu),
            0.5,
          );
        }),
      ),
    );
    expect(relErr(tf.reshape(batched, [users, outDim]), separate)).toBeLessThan(1e-5);
  });
});
