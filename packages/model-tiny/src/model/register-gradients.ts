import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

let done = false;

/**
 * Registers tfjs-core's gradient functions, which `@tensorflow/tfjs-core` alone does not do (the union package
 * `@tensorflow/tfjs` does, via `dist/register_all_gradients.js`). That ESM file cannot be loaded by Node as it is
 * (extension-less imports, and `./gradients` is both a file and a folder), so it is bundled on the fly with
 * esbuild into one CommonJS module and run. Its copy of tfjs-core internals registers into the same global
 * gradient registry (tfjs keeps registries and the engine on `globalThis`). Runs once.
 */
export function registerGradients(): void {
  if (done || (tf.getGradient('BatchMatMul') && tf.getGradient('Softmax'))) {
    done = true;
    return;
  }
  const require = createRequire(import.meta.url);
  const core = dirname(require.resolve('@tensorflow/tfjs-core/package.json'));
  const esbuild = require('esbuild') as typeof import('esbuild');
  const out = esbuild.buildSync({
    entryPoints: [join(core, 'dist', 'register_all_gradients.js')],
    bundle: true,
    write: false,
    format: 'cjs',
    platform: 'node',
    logLevel: 'silent',
  });
  const code = out.outputFiles[0]!.text;
  const module = { exports: {} };
  new Function('module', 'exports', 'require', code)(module, module.exports, require);
  done = true;
  if (!tf.getGradient('BatchMatMul')) {
    throw new Error(
      'registerGradients: tfjs-core gradients did not register (is @tensorflow/tfjs-core 4.22.0 installed?)',
    );
  }
}
