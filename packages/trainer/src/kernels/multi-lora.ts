import * as tf from '@tensorflow/tfjs-core';
import { grad } from './custom-grad.js';
import { frozenLinear } from './frozen-linear.js';
import { segmentSumRows } from './segment-sum.js';

/**
 * Batched multi-adapter LoRA (the BGMV/SGMV idea of Punica and S-LoRA): each sequence of a batch goes through
 * its own user's adapter, picked from stacked adapters by an index, in one pass.
 *
 *   x [batch, seq, in], adapterIds int32 [batch], A [n, in, r], B [n, r, out]
 *   delta[b] = scale · (x[b] · A[ids[b]]) · B[ids[b]]  ->  [batch, seq, out]
 *
 * Decoding (seq = 1) is BGMV: every row its own adapter. Prefill and training (seq > 1) is SGMV with one
 * segment per sequence. The gathered adapters are [batch, in, r] and [batch, r, out] (small: r is 8-64), and
 * the two products are batched matMuls, so 32 distinct adapters cost about what one shared adapter costs.
 *
 * Gradients: x gets dx; A and B get a scatter-add of the per-sequence gradients by adapter id, so each adapter
 * receives exactly the gradient of its own sequences and adapters absent from the batch receive zeros.
 * Adapters with different ranks: pad A and B with zero columns/rows to the largest rank; a per-adapter scale
 * can be folded into B.
 */
export function multiLoraDelta(
  x: tf.Tensor3D,
  adapterIds: tf.Tensor1D,
  a: tf.Tensor3D,
  b: tf.Tensor3D,
  scale: number,
): tf.Tensor3D {
  const [batch, , inDim] = x.shape;
  const [n, ain, r] = a.shape;
  const [bn, br, outDim] = b.shape;
  if (ain !== inDim || bn !== n || br !== r) {
    throw new Error(
      `multiLoraDelta: x [${x.shape}] needs A [n, ${inDim}, r] and B [n, r, out] with the same n and r; ` +
        `got A [${a.shape}], B [${b.shape}]`,
    );
  }
  if (adapterIds.dtype !== 'int32' || adapterIds.shape[0] !== batch) {
    throw new Error(
      `multiLoraDelta: adapterIds must be int32 [${batch}], got ${adapterIds.dtype} [${adapterIds.shape}]`,
    );
  }
  const f = tf.customGrad(
    grad((xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
      const ag = tf.gather(ai, adapterIds) as tf.Tensor3D; // [batch, in, r]
      const bg = tf.gather(bi, adapterIds) as tf.Tensor3D; // [batch, r, out]
      const h = tf.matMul(xi as tf.Tensor3D, ag); // [batch, seq, r]
      const y = tf.mul(tf.matMul(h, bg), scale); // [batch, seq, out]
      // Everything the backward pass reads is saved (kept past any inner tf.tidy), never read from the closure.
      save([ag, bg, h, xi, adapterIds]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sa, sb, sh, sx, ids] = saved as [
            tf.Tensor3D,
            tf.Tensor3D,
            tf.Tensor3D,
            tf.Tensor3D,
            tf.Tensor1D,
          ];
          const g = dy as tf.Tensor3D; // [batch, seq, out]
          const gB = tf.mul(tf.matMul(g, sb, false, true), scale); // [batch, seq, r]
          const dx = tf.matMul(gB, sa, false, true); // [batch, seq, in]
          const dAg = tf.matMul(sx, gB, true, false); // [batch, in, r]
          const dBg = tf.mul(tf.matMul(sh, g, true, false), scale); // [batch, r, out]
          const da = segmentSumRows(tf.reshape(dAg, [batch, inDim * r]) as tf.Tensor2D, ids, n);
          const db = segmentSumRows(tf.reshape(dBg, [batch, r * outDim]) as tf.Tensor2D, ids, n);
          return [dx, tf.reshape(da, [n, inDim, r]), tf.reshape(db, [n, r, outDim])];
        },
      };
    }),
  );
  return f(x, a, b) as tf.Tensor3D;
}

/** y = x·W + multiLoraDelta(...): a frozen projection with a per-sequence adapter. */
export function multiLoraLinear(
  x: tf.Tensor3D,
  w: tf.Tensor2D,
  adapterIds: tf.Tensor1D,
  a: tf.Tensor3D,
  b: tf.Tensor3D,
  scale: number,
): tf.Tensor3D {
  return tf.add(frozenLinear(x, w), multiLoraDelta(x, adapterIds, a, b, scale));
}

/**
 * Plain-tf reference that any backend can differentiate: adapters are selected by a one-hot matMul
 * (onehot [batch, n] · A [n, in·r]) instead of a gather.
 */
export function multiLoraDeltaReference(
  x: tf.Tensor3D,
  adapterIds: tf.Tensor1D,
  a: tf.Tensor3D,
  b: tf.Tensor3D,
  scale: number,
): tf.Tensor3D {
  const [batch, , inDim] = x.shape;
  const [n, , r] = a.shape;
  const outDim = b.shape[2];
  // (tfjs-backend-wasm 4.22's OneHot writes int bits when asked for float32: cast instead.)
  const oh = tf.cast(tf.oneHot(adapterIds, n), 'float32'); // [batch, n]
  const ag = tf.reshape(tf.matMul(oh, tf.reshape(a, [n, inDim * r])), [batch, inDim, r]) as tf.Tensor3D;
  const bg = tf.reshape(tf.matMul(oh, tf.reshape(b, [n, r * outDim])), [batch, r, outDim]) as tf.Tensor3D;
  return tf.mul(tf.matMul(tf.matMul(x, ag), bg), scale);
}
