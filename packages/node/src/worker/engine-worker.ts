/**
 * An engine worker: one worker thread of an `EnginePool`. It loads the base model once (`TfPeftEngine` on the
 * tfjs wasm backend, the native kernels with this worker's share of the cores), then runs the model work the pool
 * sends it, one job at a time: training, generation and scoring. Progress and streamed text go back as they come;
 * `cancel` aborts the job's signal (training stops at the next step, as in-process).
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { AdapterWeights, GenerateRequest, ProgressEvent } from '@oppu/core';
import { TfPeftEngine } from '@oppu/trainer';
import { nativeKernels } from '@oppu/trainer/kernels';
import {
  type AdapterRef,
  type FromWorker,
  type JobResult,
  type ToWorker,
  toWireError,
  type WireGenerateRequest,
  type WorkerStart,
} from './protocol.js';

const port = parentPort;
if (!port) throw new Error('engine-worker.ts runs inside a worker thread started by EnginePool');
const start = workerData as WorkerStart;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

/** Engines by key: `base`, and the merged bases the pool defined. */
const engines = new Map<string, Promise<TfPeftEngine>>();
const controllers = new Map<number, AbortController>();
/**
 * The adapters this worker holds, by the pool's id: the same weights object comes back for the same id, so the
 * engine's loaded-adapter cache (keyed by object) hits and the tensors are not rebuilt per request. The pool
 * sends an adapter's weights once and says when to drop them (`drop`), so it knows which ids are here.
 */
const adapters = new Map<number, AdapterWeights>();

/** On a job's arrival, before anything can fail: forgets what the pool dropped, keeps what it sent. */
function receiveAdapters(message: Extract<ToWorker, { type: 'job' }>): void {
  for (const id of message.drop ?? []) adapters.delete(id);
  const refs =
    'requests' in message
      ? message.requests.map((r) => r.adapter)
      : 'request' in message
        ? [message.request.adapter]
        : [];
  for (const ref of refs) if (ref?.weights) adapters.set(ref.id, ref.weights);
}

function adapterOf(ref: AdapterRef | undefined): AdapterWeights | undefined {
  if (!ref) return undefined;
  const weights = adapters.get(ref.id);
  if (!weights) throw new Error(`engine worker: adapter ${ref.id} was neither sent nor kept here`);
  return weights;
}

function request(r: WireGenerateRequest): GenerateRequest {
  const adapter = adapterOf(r.adapter);
  return {
    prompt: r.prompt,
    ...(r.promptFormat ? { promptFormat: r.promptFormat } : {}),
    ...(adapter ? { adapter } : {}),
  };
}

function engine(key: string): Promise<TfPeftEngine> {
  const e = engines.get(key);
  if (!e) throw new Error(`engine worker: no model "${key}" (it was not defined, or was disposed)`);
  return e;
}

/** The buffers of trained weights, handed over rather than copied. */
function buffersOf(weights: AdapterWeights): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const t of weights.tensors.values()) {
    const b = t.data.buffer;
    if (b instanceof ArrayBuffer && !out.includes(b) && t.data.byteLength === b.byteLength) out.push(b);
  }
  return out;
}

const gate = start.gate ? new Int32Array(start.gate) : undefined;

/**
 * Between two training steps (the trainer reports each step, then yields): while answers run elsewhere in the
 * pool, this training waits for them, at most `pauseMs`, so they have the cores to themselves. Blocking is
 * right here: this thread has nothing else to do, and a cancel is read as soon as the step loop yields.
 */
function holdForAnswers(): void {
  if (!gate || !start.pauseMs) return;
  const until = performance.now() + start.pauseMs;
  for (let running = Atomics.load(gate, 0); running > 0; running = Atomics.load(gate, 0)) {
    const left = until - performance.now();
    if (left <= 0) return;
    Atomics.wait(gate, 0, running, left);
  }
}

async function run(message: Extract<ToWorker, { type: 'job' }>, signal: AbortSignal): Promise<void> {
  const id = message.id;
  const onProgress = (event: ProgressEvent) => post({ type: 'progress', id, event });
  const onStep = (event: ProgressEvent) => {
    onProgress(event);
    holdForAnswers();
  };
  const e = await engine(message.model);
  let result: JobResult;
  let transfer: ArrayBuffer[] = [];
  switch (message.op) {
    case 'train': {
      const { init, ...rest } = message.options;
      const r = await e.trainAdapter(message.examples, {
        ...rest,
        ...(init ? { init } : {}),
        signal,
        onProgress: onStep,
      });
      result = r;
      transfer = buffersOf(r.weights);
      break;
    }
    case 'trainMany': {
      if (!e.trainAdapters) throw new Error('engine worker: this engine cannot train users together');
      const r = await e.trainAdapters(message.perUser, {
        ...message.options,
        signal,
        onProgress: onStep,
      });
      result = r;
      transfer = r.flatMap((x) => buffersOf(x.weights));
      break;
    }
    case 'generate':
      result = await e.model.generate(message.requests.map(request), { ...message.sampling, signal });
      break;
    case 'stream':
      for await (const text of e.model.stream(request(message.request), { ...message.sampling, signal })) {
        post({ type: 'chunk', id, text });
      }
      result = null;
      break;
    case 'score':
      result = await e.model.score({ ...request(message.request), completion: message.request.completion });
      break;
    case 'scoreCandidates':
      result = await e.model.scoreCandidates(
        message.requests.map((r) => ({ ...request(r), candidates: r.candidates })),
        { signal },
      );
      break;
  }
  post({ type: 'done', id, result }, transfer);
}

/** Native kernel threads as the pool asks (a job's own count, or a change for the running training). */
function useThreads(threads: number | undefined): void {
  const kernels = nativeKernels();
  if (!kernels || threads === undefined || kernels.info().threads === threads) return;
  kernels.setThreads(threads);
  post({ type: 'threads', threads: kernels.info().threads });
}

/**
 * Lowers this thread's priority by `nice` (Linux only: there the nice value belongs to the thread, and the
 * threads it starts later, the wasm backend's and the kernels' pools, inherit it; elsewhere it would lower the
 * whole process, the server's thread included). Returns the nice value now, when it can be read.
 */
function lowerPriority(nice: number | undefined): number | undefined {
  try {
    if (nice && nice > 0 && process.platform === 'linux') setPriority(0, Math.min(19, getPriority(0) + nice));
    return getPriority(0);
  } catch {
    return undefined; // not permitted in this sandbox: run at the inherited priority
  }
}

/** Jobs and definitions run one after another (the pool sends one job at a time; definitions come between). */
let chain: Promise<void> = Promise.resolve();
function serial(work: () => Promise<void>): void {
  chain = chain.then(work, work);
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'cancel':
      controllers.get(message.id)?.abort(new Error('cancelled'));
      return;
    case 'crash':
      process.exit(message.code);
      return;
    case 'threads':
      // Between two steps of the running training: no kernel is running while this thread handles a message.
      useThreads(message.threads);
      return;
    case 'undefine': {
      const e = engines.get(message.key);
      engines.delete(message.key);
      serial(async () => (await e?.catch(() => undefined))?.dispose());
      return;
    }
    case 'define': {
      const merged = engine(message.parent).then((p) => p.mergeAdapter(message.weights));
      merged.catch(() => {});
      engines.set(message.key, merged);
      serial(async () => {
        try {
          post({ type: 'done', id: message.id, result: (await merged).model.info });
        } catch (error) {
          post({ type: 'failed', id: message.id, error: toWireError(error) });
        }
      });
      return;
    }
    case 'job': {
      receiveAdapters(message);
      const controller = new AbortController();
      if (message.aborted) controller.abort(new Error('cancelled'));
      controllers.set(message.id, controller);
      serial(async () => {
        try {
          useThreads(message.threads);
          await run(message, controller.signal);
        } catch (error) {
          post({ type: 'failed', id: message.id, error: toWireError(error) });
        } finally {
          controllers.delete(message.id);
        }
      });
      return;
    }
  }
});

try {
  // Before anything starts a thread, so that the backend's and the kernels' threads inherit it.
  const priority = lowerPriority(start.nice);
  const base = TfPeftEngine.load(start.dir, {
    ...(start.name ? { name: start.name } : {}),
    onLog: (line) => post({ type: 'log', line }),
  });
  engines.set('base', base);
  const loaded = await base;
  const kernels = nativeKernels();
  kernels?.setThreads(start.threads);
  post({
    type: 'ready',
    info: loaded.model.info,
    backend: loaded.backend,
    threads: kernels ? kernels.info().threads : null,
    ...(priority !== undefined ? { priority } : {}),
  });
} catch (error) {
  post({ type: 'fatal', error: toWireError(error) });
}
