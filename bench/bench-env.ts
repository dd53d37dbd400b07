// Shared set-up for the benches: tfjs and the wasm backend are resolved from @oppu/trainer's own
// dependencies (bench/ is not a workspace package), and tfjs's gradients are registered.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ensureGradients } from '@oppu/trainer';

const trainerRequire = createRequire(fileURLToPath(import.meta.resolve('@oppu/trainer/package.json')));

export type TF = typeof import('@tensorflow/tfjs-core');
export const tf: TF = trainerRequire('@tensorflow/tfjs-core');
export type Tensor = import('@tensorflow/tfjs-core').Tensor;
export type Scalar = import('@tensorflow/tfjs-core').Scalar;
export type Tensor1D = import('@tensorflow/tfjs-core').Tensor1D;
export type Tensor2D = import('@tensorflow/tfjs-core').Tensor2D;
export type Tensor3D = import('@tensorflow/tfjs-core').Tensor3D;
export type Variable = import('@tensorflow/tfjs-core').Variable;
trainerRequire('@tensorflow/tfjs-backend-wasm');
trainerRequire('@tensorflow/tfjs-backend-cpu');
// tfjs-core alone registers no gradients: the trainer's ensureGradients() registers them, as training does
// (tfjs keeps its registries on globalThis, so they serve the copy of tfjs-core above).
await ensureGradients();

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
