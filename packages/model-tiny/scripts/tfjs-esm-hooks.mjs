// Node module hooks for running TypeScript sources that import tfjs-core's gradient registry.
//
// `import '@tensorflow/tfjs-core/dist/register_all_gradients.js'` (used by @oppu/trainer) works under vitest but
// not under Node's ESM loader: that file's imports have no extensions and `./gradients` is both a file and a
// folder. This hook answers it with an empty module; src/model/register-gradients.ts registers the very same
// gradients from an esbuild bundle of that file instead. Used by `pnpm pretrain` via `--import`.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (specifier === '@tensorflow/tfjs-core/dist/register_all_gradients.js' ||
      specifier === '@tensorflow/tfjs-core/dist/register_all_gradients') {
    return { url: 'data:text/javascript,export {};', shortCircuit: true };
  }
  return next(specifier, context);
}`),
);
