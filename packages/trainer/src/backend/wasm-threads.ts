import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker as NodeWorker } from 'node:worker_threads';

/**
 * Multi-threaded tfjs-backend-wasm under Node.
 *
 * Stock tfjs-backend-wasm 4.22 never picks its threaded binary under Node: the `WASM_HAS_MULTITHREAD_SUPPORT`
 * flag returns false when `IS_NODE` (tfjs issue #3830). The binary itself runs under Node's worker_threads,
 * which Emscripten supports, once three browser-only assumptions are bridged:
 *
 * 1. the pthread worker script is handed over as a `blob:` URL, which `worker_threads.Worker` cannot open:
 *    we start each worker from the script's source text (`eval: true`) instead;
 * 2. the main script reaches the worker as a `Blob` that the worker cannot `importScripts`: we replace it,
 *    in the `load` message, with the path of the same script on disk (`wasm-out/...-threaded-simd.js`);
 * 3. the C++ side caps the XNNPACK thread pool at `logical cores / 2` (it assumes 2-way hyper-threading),
 *    read through `os.cpus()` while the module initialises: during that one call we report the cores
 *    twice so that the cap becomes the real core count.
 *
 * Workers are unref'd: the main thread waits on them synchronously inside each kernel, so they must never
 * keep a finished process alive.
 */

interface WorkerScripts {
  readonly workerSource: string;
  readonly mainScriptPath: string;
}

function locateScripts(): WorkerScripts {
  const require = createRequire(import.meta.url);
  const distDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const wasmOut = path.join(distDir, '..', 'wasm-out');
  const { wasmWorkerContents } = require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  return {
    // The source is stored with escaped newlines inside string literals; tfjs re-escapes them the same way.
    workerSource: wasmWorkerContents.replace(/\n/g, '\\n'),
    mainScriptPath: path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js'),
  };
}

function pthreadWorkerClass(scripts: WorkerScripts): typeof NodeWorker {
  return class PthreadWorker extends NodeWorker {
    constructor(_blobUrl: string | URL) {
      super(scripts.workerSource, { eval: true });
      this.unref();
    }
    override ref(): void {
      // Never let a pool thread keep the process alive (see the module comment).
    }
    override postMessage(message: unknown, transferList?: readonly NodeWorkerTransferable[]): void {
      const msg = message as { cmd?: string; urlOrBlob?: unknown } | null;
      const patched =
        msg && msg.cmd === 'load' && typeof msg.urlOrBlob !== 'string'
          ? { ...msg, urlOrBlob: scripts.mainScriptPath }
          : message;
      super.postMessage(patched, transferList as never);
    }
  };
}

type NodeWorkerTransferable = Parameters<NodeWorker['postMessage']>[1] extends
  | readonly (infer T)[]
  | undefined
  ? T
  : never;

/**
 * Runs `init` (which must create the wasm backend, e.g. `tf.setBackend('wasm')`) with the bridges above in
 * place, and removes them afterwards. The threaded binary pre-spawns its 8 pool workers during `init`, so the
 * global `Worker` is needed only then.
 */
export async function withNodeWasmThreads<T>(init: () => Promise<T>): Promise<T> {
  const scripts = locateScripts();
  const previousWorker = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  const realCpus = os.cpus;
  const PthreadWorker = pthreadWorkerClass(scripts);
  // Emscripten assigns `global.Worker = worker_threads.Worker` when its module starts; keep ours.
  Object.defineProperty(globalThis, 'Worker', {
    configurable: true,
    get: () => PthreadWorker,
    set: () => {},
  });
  os.cpus = () => {
    const cpus = realCpus();
    return [...cpus, ...cpus];
  };
  try {
    return await init();
  } finally {
    os.cpus = realCpus;
    if (previousWorker) Object.defineProperty(globalThis, 'Worker', previousWorker);
    else Reflect.deleteProperty(globalThis, 'Worker');
  }
}
