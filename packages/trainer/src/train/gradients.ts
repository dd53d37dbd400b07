import { OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';

const NEEDED = ['BatchMatMul', 'Sum', 'Softmax', 'GatherV2', 'Multiply', 'Reshape'];
const registered = () => NEEDED.every((k) => tf.getGradient(k) !== undefined);

/**
 * Makes sure tfjs-core's gradient functions are registered (`@tensorflow/tfjs-core` alone registers none).
 * Loaded lazily, only when training starts, so importing this package for inference never depends on it:
 * `dist/register_all_gradients.js` is an ES module with extension-less imports that bundlers and vitest load,
 * and plain Node loads with a resolve hook (bench/tfjs-esm-hook.mjs). If something else registered them
 * already (model-tiny bundles them with esbuild), nothing is loaded.
 */
export async function ensureGradients(): Promise<void> {
  if (registered()) return;
  let cause: unknown;
  try {
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  } catch (err) {
    cause = err;
  }
  if (!registered())
    throw new OppuError(
      'gradients_unavailable',
      'training: tfjs-core gradients are not registered and @tensorflow/tfjs-core/dist/register_all_gradients.js could not be loaded ' +
        '(under plain Node, run with `--import ./bench/tfjs-esm-hook.mjs`-style resolve hooks, or register them first)',
      { cause },
    );
}
