import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import * as tf from '@tensorflow/tfjs-core';

/** Test helpers shared by the kernel tests (not exported from the package). */

/** Switches tfjs to the wasm backend (quietly) and waits for it. */
export async function useWasm(): Promise<void> {
  process.env.OPPU_QUIET ??= '1';
  await tf.setBackend('wasm');
  await tf.ready();
}

/** Max |a - b| over max |b|: the relative error of a whole tensor against its reference. */
export function relErr(a: tf.Tensor | ArrayLike<number>, b: tf.Tensor | ArrayLike<number>): number {
  const x = a instanceof tf.Tensor ? a.dataSync() : a;
  const y = b instanceof tf.Tensor ? b.dataSync() : b;
  if (x.length !== y.length) throw new Error(`relErr: lengths ${x.length} and ${y.length} differ`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    err = Math.max(err, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return scale === 0 ? err : err / scale;
}

/** A seeded uniform tensor in [-1, 1). */
export function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

/**
 * Central finite differences of the scalar `f` with respect to a few entries of `x` (float64 on the host, so
 * the check does not depend on the kernels under test): returns [analytic, numeric] pairs for `probes` entries.
 */
export function finiteDifferences(
  f: (x: tf.Tensor) => tf.Scalar,
  x: tf.Tensor,
  grad: tf.Tensor,
  probes: number[],
  eps = 1e-2,
): Array<[number, number]> {
  const base = x.dataSync().slice();
  const g = grad.dataSync();
  return probes.map((i) => {
    const at = (delta: number) =>
      tf.tidy(() => {
        const v = base.slice();
        v[i] = v[i]! + delta;
        return f(tf.tensor(v, x.shape)).dataSync()[0]!;
      });
    return [g[i]!, (at(eps) - at(-eps)) / (2 * eps)];
  });
}
