import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { findWebgpuAdapter, registerWebgpuBackend } from '../webgpu/webgpu-adapter.js';
import { type GuardedWasmModule, guardWasmMemory } from './wasm-memory.js';
import { withNodeWasmThreads } from './wasm-threads.js';

/** The backends oppu knows, fastest first. `tensorflow` is the native binding (tfjs-node or tfjs-node-gpu). */
export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** The tfjs backend name now active (`tf.getBackend()`). */
  readonly name: BackendName;
  /** Which package provides it, e.g. `@tensorflow/tfjs-node-gpu`. */
  readonly provider: string;
  /** XNNPACK threads for wasm, 1 otherwise. */
  readonly threads: number;
  /** Why faster candidates were skipped, one line each. */
  readonly skipped: readonly string[];
}

export interface InitBackendOptions {
  /** Forces one backend; defaults to the `OPPU_BACKEND` environment variable, then automatic choice. */
  readonly backend?: BackendName | 'auto';
  /** wasm threads (1 = single-threaded binary, at most 8); defaults to `OPPU_WASM_THREADS`, then `defaultWasmThreads()`. */
  readonly wasmThreads?: number;
  /** Where the log lines go; defaults to `console.info`. Pass `() => {}` to silence them. */
  readonly log?: (line: string) => void;
}

const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

let active: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

/** The backend chosen by `initBackend`, or undefined before it ran. */
export function activeBackend(): BackendInfo | undefined {
  return active;
}

/**
 * Picks and starts the fastest backend available: tfjs-node-gpu, tfjs-node, WebGPU on a hardware adapter
 * (`webgpu` + `@tensorflow/tfjs-backend-webgpu`; a software adapter such as Mesa's llvmpipe is skipped), wasm
 * (multi-threaded under Node), then cpu. A package that is not installed is skipped with a log line.
 * `OPPU_BACKEND` (cpu | wasm | tensorflow | webgpu) forces one; a forced backend that cannot start is an error
 * (a forced `webgpu` accepts a software adapter).
 * Calling it again returns the backend already chosen unless a different one is forced.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const log = options.log ?? ((line: string) => console.info(line));
  const requested = options.backend ?? parseBackendEnv(process.env.OPPU_BACKEND);
  if (active && (requested === 'auto' || requested === active.name) && tf.getBackend() === active.name)
    return active;
  if (pending) {
    await pending.catch(() => undefined);
    if (active && (requested === 'auto' || requested === active.name)) return active;
  }
  pending = choose(requested, options, log);
  try {
    active = await pending;
  } finally {
    pending = undefined;
  }
  const threads =
    active.name === 'wasm' ? `, ${active.threads} thread${active.threads === 1 ? '' : 's'}` : '';
  log(`oppu: tfjs backend "${active.name}" (${active.provider}${threads})`);
  return active;
}

function parseBackendEnv(value: string | undefined): BackendName | 'auto' {
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new OppuError(
    'backend/unknown',
    `OPPU_BACKEND="${value}" is not a backend: use one of ${BACKEND_NAMES.join(', ')} (or unset it to choose automatically)`,
  );
}

async function choose(
  requested: BackendName | 'auto',
  options: InitBackendOptions,
  log: (line: string) => void,
) {
  const skipped: string[] = [];
  const order: BackendName[] = requested === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [requested];
  for (const name of order) {
    try {
      const info = await start(name, options, requested === 'auto');
      return { ...info, skipped };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (requested !== 'auto') {
        throw new OppuError(
          'backend/unavailable',
          `OPPU_BACKEND=${name}: the backend could not start (${reason}); install its package or choose another backend`,
          { cause: error },
        );
      }
      const line = `oppu: backend "${name}" skipped: ${reason}`;
      skipped.push(line);
      log(line);
    }
  }
  throw new OppuError('backend/none', `no tfjs backend could start:\n${skipped.join('\n')}`);
}

async function start(
  name: BackendName,
  options: InitBackendOptions,
  auto: boolean,
): Promise<Omit<BackendInfo, 'skipped'>> {
  switch (name) {
    case 'tensorflow':
      return startNative();
    case 'webgpu':
      return startWebgpu(auto);
    case 'wasm':
      return startWasm(options.wasmThreads ?? parseThreadsEnv(process.env.OPPU_WASM_THREADS));
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      await activate('cpu');
      // tfjs-backend-cpu prints a banner suggesting tfjs-node on first use; our log line already says what ran.
      (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
      return { name: 'cpu', provider: '@tensorflow/tfjs-backend-cpu', threads: 1 };
  }
}

/** Dynamic import of an optional peer dependency; a missing package becomes a one-line reason. */
async function importOptional(specifier: string): Promise<unknown> {
  try {
    return await import(/* @vite-ignore */ specifier);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    // Node says ERR_MODULE_NOT_FOUND; vite (under vitest) says "Could not resolve".
    if (
      code === 'ERR_MODULE_NOT_FOUND' ||
      code === 'MODULE_NOT_FOUND' ||
      /Could not resolve|Cannot find (package|module)/.test(message)
    ) {
      throw new Error(`${specifier} is not installed (optional: pnpm add ${specifier}@4.22.0)`);
    }
    throw new Error(`${specifier} failed to load: ${message}`);
  }
}

async function startNative(): Promise<Omit<BackendInfo, 'skipped'>> {
  const reasons: string[] = [];
  for (const provider of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await importOptional(provider);
      await activate('tensorflow');
      return { name: 'tensorflow', provider, threads: 1 };
    } catch (error) {
      reasons.push(error instanceof Error ? error.message : String(error));
    }
  }
  throw new Error(reasons.join('; '));
}

/**
 * WebGPU through tfjs-backend-webgpu, on the adapter `findWebgpuAdapter` picks (Dawn under Node). Chosen
 * automatically only on a hardware adapter (a core adapter on Vulkan/Metal/D3D12; on Linux only where a Vulkan
 * loader is installed): a software one (llvmpipe via OpenGL ES) is correct but slower than wasm, so it runs only
 * when forced (`OPPU_BACKEND=webgpu`, as the WGSL kernel tests do).
 */
async function startWebgpu(auto: boolean): Promise<Omit<BackendInfo, 'skipped'>> {
  const found = await findWebgpuAdapter({ coreOnly: auto });
  if (auto && found.report.software) {
    throw new Error(
      `only a software adapter: ${found.report.summary} (slower than wasm; OPPU_BACKEND=webgpu uses it anyway)`,
    );
  }
  await registerWebgpuBackend(found);
  await activate('webgpu');
  return {
    name: 'webgpu',
    provider: `@tensorflow/tfjs-backend-webgpu on ${found.report.summary}`,
    threads: 1,
  };
}

function parseThreadsEnv(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new OppuError(
      'backend/threads',
      `OPPU_WASM_THREADS="${value}" must be a whole number of threads, 1 or more`,
    );
  }
  return n;
}

/**
 * Threads for the wasm backend when none is asked for: one per core from 4 cores up, else 1. XNNPACK wakes
 * its pool for every op; on 2 busy cores that cost more than it saved (stories260K decoding 4-15x slower per
 * token, an 8x128 prefill 1.2-2.7x slower; see the README), so small machines stay single-threaded.
 * `OPPU_WASM_THREADS` overrides.
 */
export function defaultWasmThreads(): number {
  const cores = os.availableParallelism();
  return cores >= 4 ? Math.min(8, cores) : 1;
}

async function startWasm(threadsOption: number | undefined): Promise<Omit<BackendInfo, 'skipped'>> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  // Under Node the .wasm binaries are read from the package's dist folder.
  wasm.setWasmPaths(`${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}${path.sep}`);
  const threads = Math.max(1, Math.min(8, threadsOption ?? defaultWasmThreads()));
  if (threads > 1 && typeof SharedArrayBuffer === 'function') {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    wasm.setThreadsCount(threads);
    await withNodeWasmThreads(() => activate('wasm'));
  } else {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    await activate('wasm');
  }
  // A failed allocation throws `out_of_memory` instead of putting a tensor at address 0 (wasm-memory.ts).
  guardWasmMemory((tf.backend() as unknown as { wasm: GuardedWasmModule }).wasm);
  return { name: 'wasm', provider: '@tensorflow/tfjs-backend-wasm', threads: wasm.getThreadsCount() };
}

async function activate(name: BackendName): Promise<void> {
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) throw new Error(`tf.setBackend("${name}") did not take effect`);
}
