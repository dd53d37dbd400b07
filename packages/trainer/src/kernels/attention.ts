import * as tf from '@tensorflow/tfjs-core';
import { grad } from './custom-grad.js';
import { causalSoftmax, causalSoftmaxReference } from './fused-ops.js';
import { nativeKernels } from './native.js';
import { activeWasmBackend, allocate, floatOffset, heapView } from './wasm-heap.js';

/**
 * Causal self-attention of a training or prefill pass (no KV cache, no padding inside the sequence):
 * q [b, t, h, hd], k and v [b, t, kvh, hd] (grouped-query when kvh < h: query head i reads kv head
 * i / (h / kvh)) -> [b, t, h, hd] = softmax(scale · q·k^T, causal) · v per head.
 *
 * With the native addon on wasm it is one op each way: heads are read and written in place through strides
 * (none of the four [b, t, h, hd] <-> [b, h, t, hd] transposes of the plain form, nor theirs in the backward
 * pass), and only the blocks on or below the diagonal of q·k^T, P·v and their gradients are computed, about
 * half the products of the dense form. The probabilities P [b, h, t, t] are kept for the backward pass, as the
 * plain form keeps them. Elsewhere it runs `causalAttentionReference`, the plain-tf form the decoder used.
 */
export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number): tf.Tensor4D {
  const [b, t, h, hd] = q.shape;
  const kvh = k.shape[2];
  if (
    k.shape[0] !== b ||
    k.shape[1] !== t ||
    k.shape[3] !== hd ||
    v.shape.join() !== k.shape.join() ||
    h % kvh !== 0
  ) {
    throw new Error(
      `causalAttention: q [${q.shape}] needs k and v [${b}, ${t}, kvh, ${hd}] with kvh dividing ${h}; ` +
        `got k [${k.shape}], v [${v.shape}]`,
    );
  }
  const native = nativeKernels();
  const backend = activeWasmBackend();
  if (!native || !backend || q.dtype !== 'float32' || t === 0 || b === 0) {
    return causalAttentionReference(q, k, v, scale);
  }
  const off = (x: tf.Tensor) => floatOffset(backend, x);
  const f = tf.customGrad(
    grad((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
      const out = allocate(backend, [b, t, h, hd]);
      const probs = allocate(backend, [b, h, t, t]);
      native.rowOp(
        7,
        heapView(backend),
        new Float64Array([off(qi), off(ki), off(vi), off(out), off(probs), b, t, h, kvh, hd, scale]),
      );
      save([qi, ki, vi, probs]);
      return {
        value: out,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [qs, ks, vs, ps] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
          const dq = allocate(backend, [b, t, h, hd]);
          const dk = allocate(backend, [b, t, kvh, hd]);
          const dv = allocate(backend, [b, t, kvh, hd]);
          native.rowOp(
            8,
            heapView(backend),
            new Float64Array([
              off(qs),
              off(ks),
              off(vs),
              off(ps),
              off(dy),
              off(dq),
              off(dk),
              off(dv),
              b,
              t,
              h,
              kvh,
              hd,
              scale,
            ]),
          );
          return [dq, dk, dv];
        },
      };
    }),
  );
  return f(q, k, v) as tf.Tensor4D;
}

/**
 * Plain-tf causal attention, the decoder's form: heads to the front (transposes), the g query heads of a kv
 * head as one matrix, q·k^T, `causalSoftmax`, ·v, heads back. With `reference: true` every step is a stock tf
 * op (the tests' ground truth); otherwise the softmax is the fused kernel.
 */
export function causalAttentionReference(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  scale: number,
  options: { reference?: boolean } = {},
): tf.Tensor4D {
  const [b, t, h, hd] = q.shape;
  const kvh = k.shape[2];
  const g = h / kvh;
  return tf.tidy(() => {
    const qh = tf.reshape(tf.transpose(q, [0, 2, 1, 3]), [b, kvh, g * t, hd]); // [b, kvh, g*t, hd]
    const kh = tf.transpose(k, [0, 2, 1, 3]); // [b, kvh, t, hd]
    const vh = tf.transpose(v, [0, 2, 1, 3]);
    const scores = tf.reshape(tf.matMul(qh, kh, false, true), [b, h, t, t]);
    const softmax = options.reference ? causalSoftmaxReference : causalSoftmax;
    const probs = tf.reshape(softmax(scores, scale), [b, kvh, g * t, t]);
    const att = tf.reshape(tf.matMul(probs, vh), [b, h, t, hd]);
    return tf.transpose(att, [0, 2, 1, 3]) as tf.Tensor4D;
  });
}
