import * as tf from '@tensorflow/tfjs-core';
import { grad } from './custom-grad.js';
import { nativeKernels } from './native.js';
import { activeWasmBackend, floatOffset, heapF32, heapI32, heapView } from './wasm-heap.js';

/**
 * Weighted mean softmax cross-entropy: logits [n, vocab], targets int32 [n], weights [n] (optional; 0 masks a
 * row out, e.g. prompt tokens when the loss is on answer tokens only):
 *
 *   loss = sum_i w_i · (logsumexp(logits_i) − logits_i[t_i]) / sum_i w_i
 *
 * On wasm with the native addon, one pass over the logits computes the loss and its gradient
 * ((softmax − onehot) · w_i / sum w) in place in wasm memory, on the addon's threads; the plain-tf path
 * (logSoftmax, one-hot, sums) is 6 kernels over [n, vocab] forward and as many backward. Gradient flows to the
 * logits only. Elsewhere it runs `softmaxCrossEntropyReference`.
 */
export function softmaxCrossEntropy(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  weights?: tf.Tensor1D,
): tf.Scalar {
  const [n, v] = logits.shape;
  if (targets.dtype !== 'int32' || targets.shape[0] !== n) {
    throw new Error(
      `softmaxCrossEntropy: targets must be int32 [${n}], got ${targets.dtype} [${targets.shape}]`,
    );
  }
  if (weights && (weights.dtype !== 'float32' || weights.shape[0] !== n)) {
    throw new Error(
      `softmaxCrossEntropy: weights must be float32 [${n}], got ${weights.dtype} [${weights.shape}]`,
    );
  }
  const native = nativeKernels();
  const backend = activeWasmBackend();
  if (!native || !backend) return softmaxCrossEntropyReference(logits, targets, weights);
  const f = tf.customGrad(
    grad((l: tf.Tensor, save: tf.GradSaveFunc) => {
      const gInfo = backend.makeOutput([n, v], 'float32');
      const gradLogits = tf.engine().makeTensorFromTensorInfo(gInfo) as tf.Tensor2D;
      const loss = native.softmaxXent(
        heapView(backend), // after the allocation: it may have grown the memory
        floatOffset(backend, l),
        floatOffset(backend, gradLogits),
        n,
        v,
        heapI32(backend, targets),
        weights ? heapF32(backend, weights) : null,
      );
      save([gradLogits]);
      return {
        value: tf.scalar(loss),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0]!, dy),
      };
    }),
  );
  return f(logits) as tf.Scalar;
}

/**
 * `softmaxCrossEntropy` of consecutive blocks of rows, each block on its own: block s is the next `rows[s]`
 * rows; returns [blocks], block s's weighted mean as `softmaxCrossEntropy` gives it on those rows alone, and
 * the gradient of a block's rows is what that call gives them (times the block's upstream gradient), so it
 * depends on no other block. For stacked batches of several users: one pass over the logits, each user's
 * loss and gradient their own. With the addon: one native pass per block, in place (no copy of the logits).
 */
export function softmaxCrossEntropyBlocks(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  weights: tf.Tensor1D | undefined,
  rows: readonly number[],
): tf.Tensor1D {
  const [n, v] = logits.shape;
  if (rows.some((r) => !Number.isInteger(r) || r < 1) || rows.reduce((a, b) => a + b, 0) !== n) {
    throw new Error(
      `softmaxCrossEntropyBlocks: blocks of [${rows}] rows do not cut the ${n} rows of the logits`,
    );
  }
  if (targets.dtype !== 'int32' || targets.shape[0] !== n) {
    throw new Error(
      `softmaxCrossEntropyBlocks: targets must be int32 [${n}], got ${targets.dtype} [${targets.shape}]`,
    );
  }
  if (weights && (weights.dtype !== 'float32' || weights.shape[0] !== n)) {
    throw new Error(
      `softmaxCrossEntropyBlocks: weights must be float32 [${n}], got ${weights.dtype} [${weights.shape}]`,
    );
  }
  const starts = rows.map((_, s) => rows.slice(0, s).reduce((a, b) => a + b, 0));
  const native = nativeKernels();
  const backend = activeWasmBackend();
  if (!native || !backend) {
    const block = (t: tf.Tensor, s: number) =>
      t.rank === 1
        ? tf.slice(t, [starts[s] as number], [rows[s] as number])
        : tf.slice(t, [starts[s] as number, 0], [rows[s] as number, -1]);
    return tf.stack(
      rows.map((_, s) =>
        softmaxCrossEntropy(
          block(logits, s) as tf.Tensor2D,
          block(targets, s) as tf.Tensor1D,
          weights ? (block(weights, s) as tf.Tensor1D) : undefined,
        ),
      ),
    ) as tf.Tensor1D;
  }
  const f = tf.customGrad(
    grad((l: tf.Tensor, save: tf.GradSaveFunc) => {
      const gradLogits = tf
        .engine()
        .makeTensorFromTensorInfo(backend.makeOutput([n, v], 'float32')) as tf.Tensor2D;
      const losses = rows.map((r, s) => {
        const start = starts[s] as number;
        return native.softmaxXent(
          heapView(backend), // after the allocation: it may have grown the memory
          floatOffset(backend, l) + start * v,
          floatOffset(backend, gradLogits) + start * v,
          r,
          v,
          heapI32(backend, targets).subarray(start, start + r),
          weights ? heapF32(backend, weights).subarray(start, start + r) : null,
        );
      });
      save([gradLogits]);
      return {
        value: tf.tensor1d(losses),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          // each row times its block's upstream gradient, as softmaxCrossEntropy's gradFunc does per call
          const blockOfRow = tf.tensor1d(
            rows.flatMap((r, s) => new Array<number>(r).fill(s)),
            'int32',
          );
          return tf.mul(saved[0]!, tf.reshape(tf.gather(dy, blockOfRow), [n, 1]));
        },
      };
    }),
  );
  return f(logits) as tf.Tensor1D;
}

/** Plain-tf reference: logSoftmax and a one-hot mask, gradient by tfjs autograd. */
export function softmaxCrossEntropyReference(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  weights?: tf.Tensor1D,
): tf.Scalar {
  const [n, v] = logits.shape;
  // (tfjs-backend-wasm 4.22's OneHot writes int bits when asked for float32: cast instead.)
  const oh = tf.cast(tf.oneHot(targets, v), 'float32');
  const nll = tf.neg(tf.sum(tf.mul(oh, tf.logSoftmax(logits)), -1)); // [n]
  const w = weights ?? tf.ones([n]);
  return tf.div(tf.sum(tf.mul(nll, w)), tf.sum(w)) as tf.Scalar;
}
