// Node ESM resolve hook for tfjs-core's dist/*.js ES modules, whose relative imports have no extension
// ('./gradients' is both gradients.js and a folder): try '<spec>.js', then '<spec>/index.js'.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? '';
  if (specifier.startsWith('.') && parent.includes('/@tensorflow/') && !/\.[cm]?js$/.test(specifier)) {
    for (const candidate of [`${specifier}.js`, `${specifier}/index.js`]) {
      const url = new URL(candidate, parent);
      if (existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true, format: 'module' };
    }
  }
  return next(specifier, context);
}
