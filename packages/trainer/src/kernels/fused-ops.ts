import * as tf from '@tensorflow/tfjs-core';
import { grad } from './custom-grad.js';
import { nativeKernels } from './native.js';
import { activeWasmBackend, allocate, floatOffset, heapView, sizeOf } from './wasm-heap.js';

/**
 * Fused element-wise kernels of the decoder: RMSNorm, the SwiGLU gate, rotary embeddings, causal softmax. In plain tf each is
 * 4-6 kernels forward and more backward over [rows, d] (slices, concats, squares, means...); with the native
 * addon on wasm each is one pass forward and one backward, in place in wasm memory. Without the addon (or off
 * wasm) they run their plain-tf reference, which is also what the tests compare them with.
 */

function nativeOnWasm() {
  const native = nativeKernels();
  const backend = activeWasmBackend();
  return native && backend ? { native, backend } : null;
}

const off = (backend: NonNullable<ReturnType<typeof activeWasmBackend>>, t: tf.Tensor) =>
  floatOffset(backend, t);

/** RMSNorm over the last axis with a frozen weight: x [..., d], w [d] -> [..., d]. Gradient to x only. */
export function rmsNorm<T extends tf.Tensor>(x: T, w: tf.Tensor1D, eps: number): T {
  const d = w.shape[0];
  if (x.shape[x.shape.length - 1] !== d)
    throw new Error(`rmsNorm: x [${x.shape}] does not end with d = ${d}`);
  const env = nativeOnWasm();
  if (!env) return rmsNormReference(x, w, eps);
  const { native, backend } = env;
  const n = sizeOf(x.shape) / d;
  const f = tf.customGrad(
    grad((xi: tf.Tensor, save: tf.GradSaveFunc) => {
      const y = allocate(backend, xi.shape);
      const r = allocate(backend, [n]);
      native.rowOp(
        0,
        heapView(backend),
        new Float64Array([off(backend, xi), off(backend, w), off(backend, y), off(backend, r), n, d, eps]),
      );
      save([xi, r, w]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, rs, ws] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
          const dx = allocate(backend, xs.shape);
          native.rowOp(
            1,
            heapView(backend),
            new Float64Array([
              off(backend, xs),
              off(backend, ws),
              off(backend, rs),
              off(backend, dy),
              off(backend, dx),
              n,
              d,
            ]),
          );
          return dx;
        },
      };
    }),
  );
  return f(x) as T;
}

export function rmsNormReference<T extends tf.Tensor>(x: T, w: tf.Tensor1D, eps: number): T {
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), w) as T;
}

/** The SwiGLU gate silu(a) · b, element-wise (a = gate projection, b = up projection). Gradients to a and b. */
export function swiglu<T extends tf.Tensor>(a: T, b: T): T {
  if (a.shape.join() !== b.shape.join())
    throw new Error(`swiglu: shapes [${a.shape}] and [${b.shape}] differ`);
  const env = nativeOnWasm();
  if (!env) return swigluReference(a, b);
  const { native, backend } = env;
  const n = sizeOf(a.shape);
  const f = tf.customGrad(
    grad((ai: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
      const y = allocate(backend, ai.shape);
      native.rowOp(
        2,
        heapView(backend),
        new Float64Array([off(backend, ai), off(backend, bi), off(backend, y), n]),
      );
      save([ai, bi]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [as, bs] = saved as [tf.Tensor, tf.Tensor];
          const da = allocate(backend, as.shape);
          const db = allocate(backend, as.shape);
          native.rowOp(
            3,
            heapView(backend),
            new Float64Array([
              off(backend, as),
              off(backend, bs),
              off(backend, dy),
              off(backend, da),
              off(backend, db),
              n,
            ]),
          );
          return [da, db];
        },
      };
    }),
  );
  return f(a, b) as T;
}

export function swigluReference<T extends tf.Tensor>(a: T, b: T): T {
  return tf.mul(tf.mul(a, tf.sigmoid(a)), b) as T;
}

export type RopeStyle = 'half' | 'interleaved';

/**
 * Rotary position embedding of x [rows, heads, hd] with each row's angles cos, sin ([rows, hd/2] or
 * [rows, 1, hd/2]). 'half' rotates (x[i], x[i + hd/2]) (HF rotate_half), 'interleaved' rotates
 * (x[2i], x[2i+1]) (llama2.c). The gradient is the rotation by minus the angle.
 */
export function rope(x: tf.Tensor3D, cos: tf.Tensor, sin: tf.Tensor, style: RopeStyle): tf.Tensor3D {
  const [rows, heads, hd] = x.shape;
  if (hd % 2 !== 0 || sizeOf(cos.shape) !== (rows * hd) / 2 || sizeOf(sin.shape) !== (rows * hd) / 2) {
    throw new Error(
      `rope: x [${x.shape}] needs cos and sin of ${rows} x ${hd / 2}; got [${cos.shape}], [${sin.shape}]`,
    );
  }
  const env = nativeOnWasm();
  if (!env) return ropeReference(x, cos, sin, style);
  const { native, backend } = env;
  const run = (src: tf.Tensor, c: tf.Tensor, s: tf.Tensor, inverse: boolean) => {
    const y = allocate(backend, src.shape);
    native.rowOp(
      4,
      heapView(backend),
      new Float64Array([
        off(backend, src),
        off(backend, c),
        off(backend, s),
        off(backend, y),
        rows,
        heads,
        hd,
        style === 'interleaved' ? 1 : 0,
        inverse ? 1 : 0,
      ]),
    );
    return y;
  };
  const f = tf.customGrad(
    grad((xi: tf.Tensor, save: tf.GradSaveFunc) => {
      save([cos, sin]); // the angles may be built inside the caller's tf.tidy: keep them for the backward pass
      return {
        value: run(xi, cos, sin, false),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(dy, saved[0]!, saved[1]!, true),
      };
    }),
  );
  return f(x) as tf.Tensor3D;
}

export function ropeReference(x: tf.Tensor3D, cos: tf.Tensor, sin: tf.Tensor, style: RopeStyle): tf.Tensor3D {
  const [n, heads, hd] = x.shape;
  const half = hd / 2;
  const c = tf.reshape(cos, [n, 1, half]);
  const s = tf.reshape(sin, [n, 1, half]);
  if (style === 'half') {
    const x1 = tf.slice(x, [0, 0, 0], [n, heads, half]);
    const x2 = tf.slice(x, [0, 0, half], [n, heads, half]);
    return tf.concat(
      [tf.sub(tf.mul(x1, c), tf.mul(x2, s)), tf.add(tf.mul(x2, c), tf.mul(x1, s))],
      2,
    ) as tf.Tensor3D;
  }
  const pairs = tf.reshape(x, [n * heads, half, 2]);
  const x0 = tf.reshape(tf.slice(pairs, [0, 0, 0], [n * heads, half, 1]), [n, heads, half]);
  const x1 = tf.reshape(tf.slice(pairs, [0, 0, 1], [n * heads, half, 1]), [n, heads, half]);
  const r0 = tf.sub(tf.mul(x0, c), tf.mul(x1, s));
  const r1 = tf.add(tf.mul(x0, s), tf.mul(x1, c));
  return tf.reshape(tf.stack([r0, r1], 3), [n, heads, hd]);
}

/**
 * Attention probabilities with a causal mask: softmax(scale · scores) over the last axis where query i sees
 * keys j <= i, zeros above the diagonal. scores [..., t, t] (square: training/prefill without a KV cache and
 * without padding inside the sequence; padded batches use an additive bias and `tf.softmax`).
 */
export function causalSoftmax<T extends tf.Tensor>(scores: T, scale: number): T {
  const t = scores.shape[scores.rank - 1]!;
  if (scores.rank < 2 || scores.shape[scores.rank - 2] !== t) {
    throw new Error(`causalSoftmax: scores [${scores.shape}] must end with a square [t, t]`);
  }
  const env = nativeOnWasm();
  if (!env) return causalSoftmaxReference(scores, scale);
  const { native, backend } = env;
  const n = sizeOf(scores.shape) / (t * t);
  const f = tf.customGrad(
    grad((x: tf.Tensor, save: tf.GradSaveFunc) => {
      const y = allocate(backend, x.shape);
      native.rowOp(5, heapView(backend), new Float64Array([off(backend, x), off(backend, y), n, t, scale]));
      save([y]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const ys = saved[0]!;
          const dx = allocate(backend, ys.shape);
          native.rowOp(
            6,
            heapView(backend),
            new Float64Array([off(backend, ys), off(backend, dy), off(backend, dx), n, t, scale]),
          );
          return dx;
        },
      };
    }),
  );
  return f(scores) as T;
}

export function causalSoftmaxReference<T extends tf.Tensor>(scores: T, scale: number): T {
  const t = scores.shape[scores.rank - 1]!;
  const mask = tf.linalg.bandPart(tf.ones([t, t]), -1, 0); // 1 on and below the diagonal
  const bias = tf.mul(tf.sub(1, mask), -1e9);
  return tf.softmax(tf.add(tf.mul(scores, scale), bias)) as T;
}
