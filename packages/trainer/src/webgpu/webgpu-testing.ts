import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import * as tf from '@tensorflow/tfjs-core';
import { findWebgpuAdapter } from './webgpu-adapter.js';

/** Test helpers for the WGSL kernels (not exported from the package). */

/**
 * Whether the WGSL kernel tests can run, decided once before the suites are declared: a WebGPU adapter (any,
 * software included: Mesa's llvmpipe through Dawn's OpenGL ES backend is what CI has) and
 * @tensorflow/tfjs-backend-webgpu. `reason` says why not, for the skipped suite's title.
 */
export async function webgpuAvailability(): Promise<
  { ok: true; adapter: string } | { ok: false; reason: string }
> {
  try {
    const found = await findWebgpuAdapter();
    await import(/* @vite-ignore */ '@tensorflow/tfjs-backend-webgpu');
    return { ok: true, adapter: found.report.summary };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.warn(`WGSL kernel tests skipped: ${reason}`);
    return { ok: false, reason };
  }
}

/** A seeded uniform tensor in [-1, 1). */
export function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

/**
 * Max |a - b| over max |b|: relative error of a whole tensor against its reference. Async: the webgpu
 * backend cannot read a GPU buffer synchronously under Node.
 */
export async function relErr(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [x, y] = await Promise.all([a.data(), b.data()]);
  if (x.length !== y.length) throw new Error(`relErr: lengths ${x.length} and ${y.length} differ`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    err = Math.max(err, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return scale === 0 ? err : err / scale;
}

/**
 * Central finite differences of the scalar `f` with respect to a few entries of `x`: [analytic, numeric] pairs
 * for the `probes` entries (the differences are taken in float64 on the host from float32 evaluations).
 */
export async function finiteDifferences(
  f: (x: tf.Tensor) => tf.Scalar,
  x: tf.Tensor,
  grad: tf.Tensor,
  probes: number[],
  eps = 1e-2,
): Promise<Array<[number, number]>> {
  const base = await x.data();
  const g = await grad.data();
  const at = async (i: number, delta: number) => {
    const v = Float32Array.from(base);
    v[i] = v[i]! + delta;
    const t = tf.tensor(v, x.shape);
    const y = f(t);
    const value = (await y.data())[0]!;
    tf.dispose([t, y]);
    return value;
  };
  const out: Array<[number, number]> = [];
  for (const i of probes) out.push([g[i]!, ((await at(i, eps)) - (await at(i, -eps))) / (2 * eps)]);
  return out;
}
