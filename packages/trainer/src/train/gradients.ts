import { register } from 'node:module';
import { OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';

const NEEDED = ['BatchMatMul', 'Sum', 'Softmax', 'GatherV2', 'Multiply', 'Reshape'];
const registered = () => NEEDED.every((k) => tf.getGradient(k) !== undefined);

/**
 * A Node ESM resolve hook for tfjs-core's `dist/*.js` ES modules, whose relative imports carry no extension
 * (`./gradients` is both `gradients.js` and a folder): it tries `<spec>.js`, then `<spec>/index.js`. Registered
 * from a data: URL, so it needs no file on disk and no command-line flag.
 */
const TFJS_ESM_HOOK = `
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? '';
  if (specifier.startsWith('.') && parent.includes('/@tensorflow/') && !/\\.[cm]?js$/.test(specifier)) {
    for (const candidate of [specifier + '.js', specifier + '/index.js']) {
      const url = new URL(candidate, parent);
      if (existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true, format: 'module' };
    }
  }
  return next(specifier, context);
}`;

let hookRegistered = false;

/**
 * Makes sure tfjs-core's gradient functions are registered (`@tensorflow/tfjs-core` alone registers none).
 * Loaded lazily, only when training starts, so importing this package for inference never depends on it.
 * Bundlers and vitest load `dist/register_all_gradients.js` as it is; plain Node needs the resolve hook above,
 * which is registered on first use. tfjs keeps its registries on `globalThis`, so gradients registered through
 * the ES build serve the CommonJS build this package imports. If something registered them already, nothing
 * is loaded.
 */
export async function ensureGradients(): Promise<void> {
  if (registered()) return;
  let cause: unknown;
  try {
    if (!hookRegistered && typeof register === 'function' && !process.versions.bun) {
      register(`data:text/javascript,${encodeURIComponent(TFJS_ESM_HOOK)}`);
      hookRegistered = true;
    }
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  } catch (err) {
    cause = err;
  }
  if (!registered())
    throw new OppuError(
      'gradients_unavailable',
      'training: tfjs-core gradients are not registered and @tensorflow/tfjs-core/dist/register_all_gradients.js could not be loaded; import and register them before training',
      { cause },
    );
}
