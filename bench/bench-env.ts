// Shared set-up for the benches: tfjs and the wasm backend are resolved from @oppu/trainer's own
// dependencies (bench/ is not a workspace package), and tfjs's gradients are registered.
import { readdirSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const trainerRequire = createRequire(fileURLToPath(import.meta.resolve('@oppu/trainer/package.json')));

export type TF = typeof import('@tensorflow/tfjs-core');
export const tf: TF = trainerRequire('@tensorflow/tfjs-core');
trainerRequire('@tensorflow/tfjs-backend-wasm');
trainerRequire('@tensorflow/tfjs-backend-cpu');
// tfjs-core alone registers no gradients, and its ESM dist (register_all_gradients.js, gradients/*_grad.js)
// uses extension-less imports that Node's ESM resolver refuses: a small resolve hook fixes them up.
register('./tfjs-esm-hook.mjs', import.meta.url);
const gradDir = join(
  dirname(trainerRequire.resolve('@tensorflow/tfjs-core/package.json')),
  'dist',
  'gradients',
);
for (const file of readdirSync(gradDir).filter((f) => f.endsWith('_grad.js'))) {
  const mod = (await import(pathToFileURL(join(gradDir, file)).href)) as Record<string, unknown>;
  for (const value of Object.values(mod)) {
    if (value && typeof value === 'object' && 'kernelName' in value && 'gradFunc' in value) {
      tf.registerGradient(value as Parameters<TF['registerGradient']>[0]);
    }
  }
}

export async function useBackend(name: 'wasm' | 'cpu'): Promise<void> {
  await tf.setBackend(name);
  await tf.ready();
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function cpuModel(): string {
  try {
    const info = trainerRequire('node:fs').readFileSync('/proc/cpuinfo', 'utf8') as string;
    return /model name\s*:\s*(.*)/.exec(info)?.[1] ?? 'unknown CPU';
  } catch {
    return 'unknown CPU';
  }
}
