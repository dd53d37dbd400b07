import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type AdapterWeights, type BaseModelInfo, OppuError, type ProgressEvent } from '@oppu/core';
import type {
  AdapterRef,
  FromWorker,
  JobOp,
  JobResult,
  ToWorker,
  WireError,
  WorkerStart,
} from './protocol.js';

export interface EnginePoolOptions {
  /** The base model folder (HF layout), already checked. */
  readonly dir: string;
  /** `base_model_name_or_path` of the engine; default the folder name. */
  readonly name?: string;
  /** Workers that train (each runs one training job at a time; default 1). */
  readonly trainWorkers?: number;
  /** Workers kept for answers, so a question never waits behind a training (default 1; 0: none). */
  readonly serveWorkers?: number;
  /**
   * Threads of the native kernels (and of tfjs-backend-wasm) in each worker, fixed. Default: tfjs-backend-wasm
   * gets the cores divided among the workers, and the native kernels' threads follow the work (see `EnginePool`):
   * answers running get the cores, a training keeps one thread while an answer runs and gets its share back
   * after.
   */
  readonly threads?: number;
  /**
   * Added to the training workers' nice value (Linux, where it is per thread; 0 to 19, default 10), so that a
   * training yields the cores to the server's thread and the answers whenever they want them, and takes whatever
   * they leave. 0: trainings run at the server's priority.
   */
  readonly trainNice?: number;
  /** Cores the native kernels' threads are shared out from; default `os.availableParallelism()`. */
  readonly cores?: number;
  /**
   * Longest a training waits between two steps while answers run (default 1,000 ms; 0: it never waits). The
   * answers then have the cores to themselves, and a training still takes a step at least this often.
   */
  readonly trainPauseMs?: number;
  /** Lines the workers log (the backend chosen, a replaced worker); default none. */
  readonly onLog?: (line: string) => void;
}

export type Lane = 'train' | 'serve';

/** A job in the pool: training only on a `train` worker; answers on whichever worker is free, serve first. */
interface PendingJob {
  readonly id: number;
  readonly model: string;
  readonly op: JobOp;
  lanes: readonly Lane[];
  /** Cancelled while queued: sent marked so (a training then returns its cancelled result at once). */
  aborted?: boolean;
  /** Sent as part of a batch with other answers (see `batch`). */
  batched?: boolean;
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly onChunk?: (text: string) => void;
  readonly signal?: AbortSignal;
  resolve(result: JobResult): void;
  reject(error: unknown): void;
  slot?: Slot;
  cleanup?: () => void;
}

interface Slot {
  readonly index: number;
  readonly lane: Lane;
  worker: Worker;
  ready: boolean;
  current?: PendingJob;
  /** Native kernel threads the pool last asked of this worker, and those it reported in use (null: none). */
  asked?: number;
  threads: number | null;
  /** The worker thread's nice value, as it reported it. */
  priority?: number;
  /** Adapter ids this worker holds the weights of, least recently used first (see `adapterRefs`). */
  readonly held: Map<number, true>;
  /** Definitions waiting for this worker's answer (only the first answer settles a definition). */
  readonly defines: Set<number>;
}

interface Definition {
  readonly key: string;
  readonly parent: string;
  readonly weights: AdapterWeights;
}

/** What a worker is doing now, as `EnginePool.workers()` lists it. */
export interface WorkerState {
  readonly lane: Lane;
  /** The job running (`train`, `scoreCandidates`, ...), or undefined when idle. */
  readonly job?: JobOp['op'];
  /** Native kernel threads in use, as the worker last reported them; null: no native kernels there. */
  readonly threads: number | null;
  /** The worker thread's nice value (Linux), as it reported it at start. */
  readonly priority?: number;
}

function isTraining(job: PendingJob | undefined): boolean {
  return job !== undefined && (job.op.op === 'train' || job.op.op === 'trainMany');
}

/** Most adapters a worker keeps the weights of (the pool tells it which to drop past this). */
const MAX_HELD_ADAPTERS = 64;

/** Most requests one batch of answers carries. */
const MAX_BATCH_ROWS = 32;

function rowsOf(op: JobOp): number {
  return 'requests' in op ? op.requests.length : 1;
}

/** A worker must start within this long (it loads tfjs and the base model). */
const START_TIMEOUT_MS = 120_000;
/** A worker that keeps dying before it is ready is not restarted after this many tries in a row. */
const MAX_START_FAILURES = 3;

/**
 * A small pool of engine workers on `node:worker_threads`, each holding the base model once (and the merged
 * stage-1 bases defined on it). The main thread only sends work and receives results, so it keeps answering
 * while a training runs.
 *
 * - Training jobs run on `train` workers, one per worker at a time, first come first served; answers
 *   (generation, scoring) go to a `serve` worker, or to any idle worker.
 * - Cancelling a job's signal reaches the worker (training stops at its next step).
 * - A worker that dies fails only its running job (one line naming the worker and the job) and is replaced at
 *   once; its queued work waits for the replacement.
 */
export class EnginePool {
  readonly trainWorkers: number;
  readonly serveWorkers: number;
  readonly threads: number;
  /** Cores the native kernels' threads are shared out from (the machine's, when `threads` is not fixed). */
  readonly cores: number;
  /** The training workers' added nice value. */
  readonly trainNice: number;
  /** Longest a training waits between two steps for the answers running. */
  readonly trainPauseMs: number;
  /** Answers running now (index 0), shared with the workers: trainings wait between steps while it is above 0. */
  private readonly gate = new Int32Array(new SharedArrayBuffer(4));
  /** The base model's info (from the first worker ready). */
  info!: BaseModelInfo;
  backend = '';
  private readonly options: EnginePoolOptions;
  private readonly slots: Slot[] = [];
  private readonly queue: PendingJob[] = [];
  private readonly definitions = new Map<string, Definition>();
  private readonly waitingDefines = new Map<
    number,
    { resolve(info: BaseModelInfo): void; reject(e: unknown): void }
  >();
  private nextId = 1;
  private startFailures = 0;
  private closed = false;
  /** Why the pool gave up restarting workers; new jobs are refused with it. */
  private broken: string | undefined;
  private refs = 0;
  /** Workers started since the pool opened (the first ones included), for tests and reports. */
  started = 0;
  /** Batches of several queued answers sent as one job (see `batch`), for tests and reports. */
  batches = 0;
  /** Adapter weights sent to workers: each adapter once per worker that holds it (see `adapterRefs`). */
  adapterSends = 0;

  private constructor(options: EnginePoolOptions) {
    this.options = options;
    this.trainWorkers = options.trainWorkers ?? 1;
    this.serveWorkers = options.serveWorkers ?? 1;
    if (!Number.isInteger(this.trainWorkers) || this.trainWorkers < 1) {
      throw new OppuError(
        'invalid_option',
        `trainWorkers must be a whole number, 1 or more (got ${this.trainWorkers})`,
      );
    }
    if (!Number.isInteger(this.serveWorkers) || this.serveWorkers < 0) {
      throw new OppuError(
        'invalid_option',
        `serveWorkers must be a whole number, 0 or more (got ${this.serveWorkers})`,
      );
    }
    const workers = this.trainWorkers + this.serveWorkers;
    this.cores = options.cores ?? availableParallelism();
    if (!Number.isInteger(this.cores) || this.cores < 1) {
      throw new OppuError('invalid_option', `cores must be a whole number, 1 or more (got ${this.cores})`);
    }
    this.threads = options.threads ?? Math.max(1, Math.floor(this.cores / workers));
    this.trainNice = options.trainNice ?? 10;
    this.trainPauseMs = options.trainPauseMs ?? 1000;
    if (!(this.trainPauseMs >= 0)) {
      throw new OppuError(
        'invalid_option',
        `trainPauseMs must be a number of milliseconds, 0 or more (got ${this.trainPauseMs})`,
      );
    }
    if (!Number.isInteger(this.trainNice) || this.trainNice < 0 || this.trainNice > 19) {
      throw new OppuError(
        'invalid_option',
        `trainNice must be a whole number from 0 to 19 (got ${this.trainNice})`,
      );
    }
  }

  /** Starts the workers and resolves once every one has loaded the base model. */
  static async open(options: EnginePoolOptions): Promise<EnginePool> {
    const pool = new EnginePool(options);
    const lanes: Lane[] = [
      ...Array<Lane>(pool.trainWorkers).fill('train'),
      ...Array<Lane>(pool.serveWorkers).fill('serve'),
    ];
    try {
      await Promise.all(lanes.map((lane, index) => pool.spawn(index, lane)));
    } catch (error) {
      await pool.terminate();
      throw error;
    }
    return pool;
  }

  /** Workers now alive and ready. */
  get readyWorkers(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  /** Jobs waiting for a worker (not counting running ones). */
  get queued(): number {
    return this.queue.length;
  }

  /** Each worker's lane, running job, kernel threads and priority, for tests and reports. */
  workers(): WorkerState[] {
    return this.slots
      .filter((s) => s?.ready)
      .map((s) => ({
        lane: s.lane,
        ...(s.current ? { job: s.current.op.op } : {}),
        threads: s.threads,
        ...(s.priority !== undefined ? { priority: s.priority } : {}),
      }));
  }

  /**
   * The native kernel threads each busy worker should run with now, unless `threads` fixes them: answers get
   * the cores (shared among the answers running), since a person waits for them; a training keeps one thread
   * while any answer runs, and the training workers share the cores when none does.
   */
  private wantedThreads(): Map<Slot, number> {
    const busy = this.slots.filter((s) => s?.ready && s.current);
    const training = busy.filter((s) => isTraining(s.current));
    const answering = busy.length - training.length;
    const out = new Map<Slot, number>();
    for (const s of busy) {
      const n = isTraining(s.current)
        ? answering > 0
          ? 1
          : Math.floor(this.cores / training.length)
        : Math.floor(this.cores / answering);
      out.set(s, Math.max(1, n));
    }
    return out;
  }

  /**
   * After answers started or ended: the gate counts the answers running (trainings wait while it is above 0,
   * woken when it drops to 0), and each running training is told its new thread count.
   */
  private balance(): void {
    const answering = this.slots.filter((s) => s?.ready && s.current && !isTraining(s.current)).length;
    if (Atomics.exchange(this.gate, 0, answering) !== answering && answering === 0)
      Atomics.notify(this.gate, 0);
    if (this.options.threads !== undefined) return;
    for (const [slot, threads] of this.wantedThreads()) {
      if (slot.asked === threads || !isTraining(slot.current)) continue;
      slot.asked = threads;
      slot.worker.postMessage({ type: 'threads', threads } satisfies ToWorker);
    }
  }

  private spawn(index: number, lane: Lane): Promise<void> {
    const start: WorkerStart = {
      dir: this.options.dir,
      ...(this.options.name ? { name: this.options.name } : {}),
      threads: this.threads,
      ...(lane === 'train' && this.trainNice > 0 ? { nice: this.trainNice } : {}),
      gate: this.gate.buffer as SharedArrayBuffer,
      pauseMs: this.trainPauseMs,
    };
    const worker = startWorker(start, this.threads);
    this.started++;
    const slot: Slot = {
      index,
      lane,
      worker,
      ready: false,
      defines: new Set(),
      asked: this.threads,
      threads: null,
      held: new Map(),
    };
    this.slots[index] = slot;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        void worker.terminate();
        reject(
          new OppuError(
            'worker_start',
            `engine worker ${index} did not load the base model within ${START_TIMEOUT_MS / 1000} s`,
          ),
        );
      }, START_TIMEOUT_MS);
      timer.unref();
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          if (!this.info) {
            this.info = message.info;
            this.backend = message.backend;
          }
          slot.ready = true;
          slot.threads = message.threads;
          if (message.priority !== undefined) slot.priority = message.priority;
          this.startFailures = 0;
          for (const d of this.definitions.values()) this.sendDefine(slot, d);
          resolve();
          this.pump();
        } else if (message.type === 'fatal') {
          clearTimeout(timer);
          reject(
            new OppuError(
              'worker_start',
              `engine worker ${index} could not load the base model: ${message.error.message}`,
            ),
          );
          void worker.terminate();
        } else {
          this.onMessage(slot, message);
        }
      });
      worker.on('error', (error) => {
        this.options.onLog?.(`oppu: engine worker ${index} (${lane}) failed: ${error.message}`);
        if (!slot.ready) {
          clearTimeout(timer);
          reject(new OppuError('worker_start', `engine worker ${index} could not start: ${error.message}`));
        }
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        this.onExit(slot, code);
      });
    });
  }

  private onMessage(slot: Slot, message: Exclude<FromWorker, { type: 'ready' | 'fatal' }>): void {
    if (message.type === 'log') {
      this.options.onLog?.(message.line);
      return;
    }
    if (message.type === 'threads') {
      slot.threads = message.threads;
      return;
    }
    if (this.waitingDefines.has(message.id) && (message.type === 'done' || message.type === 'failed')) {
      slot.defines.delete(message.id);
      const waiting = this.waitingDefines.get(message.id)!;
      this.waitingDefines.delete(message.id);
      if (message.type === 'done') waiting.resolve(message.result as BaseModelInfo);
      else waiting.reject(fromWire(message.error));
      return;
    }
    const job = slot.current;
    if (!job || job.id !== message.id) return;
    switch (message.type) {
      case 'progress':
        job.onProgress?.(message.event);
        return;
      case 'chunk':
        job.onChunk?.(message.text);
        return;
      case 'done':
        this.finish(slot, job);
        job.resolve(message.result);
        return;
      case 'failed':
        this.finish(slot, job);
        job.reject(fromWire(message.error));
        return;
    }
  }

  private finish(slot: Slot, job: PendingJob): void {
    job.cleanup?.();
    slot.current = undefined;
    this.pump();
  }

  private onExit(slot: Slot, code: number): void {
    if (this.slots[slot.index] !== slot) return;
    const wasReady = slot.ready;
    slot.ready = false;
    const job = slot.current;
    slot.current = undefined;
    if (job) {
      job.cleanup?.();
      job.reject(
        new OppuError(
          'worker_crashed',
          `engine worker ${slot.index} (${slot.lane}) stopped with exit code ${code} while running ${job.op.op} job ${job.id}; nothing it was writing was stored, and the worker was replaced`,
        ),
      );
    }
    this.balance();
    for (const id of slot.defines) {
      // Another worker may still answer the definition; fail it only if none is left to.
      if (!this.slots.some((s) => s !== slot && s.ready)) {
        this.waitingDefines
          .get(id)
          ?.reject(
            new OppuError('worker_crashed', `engine worker ${slot.index} stopped while merging a base model`),
          );
        this.waitingDefines.delete(id);
      }
    }
    if (this.closed) return;
    if (!wasReady) this.startFailures++;
    if (this.startFailures >= MAX_START_FAILURES) {
      this.broken = `engine workers failed to start ${MAX_START_FAILURES} times in a row; see the log for why`;
      this.failQueued(this.broken);
      return;
    }
    this.options.onLog?.(
      `oppu: engine worker ${slot.index} (${slot.lane}) exited with code ${code}; starting a new one`,
    );
    this.spawn(slot.index, slot.lane).catch((error: unknown) => {
      this.options.onLog?.(`oppu: ${(error as Error).message}`);
    });
  }

  private failQueued(message: string): void {
    for (const job of this.queue.splice(0)) {
      job.cleanup?.();
      job.reject(new OppuError('worker_start', message));
    }
  }

  /**
   * Hands queued jobs to idle workers: each worker takes the first job its lane may run. Each job goes with the
   * kernel threads it should run with among the jobs now running, and running trainings are told theirs.
   */
  private pump(): void {
    // Serve workers look first, so an answer takes a train worker only when every serve worker is busy.
    const order = [
      ...this.slots.filter((s) => s?.lane === 'serve'),
      ...this.slots.filter((s) => s?.lane === 'train'),
    ];
    const sent: Slot[] = [];
    for (const slot of order) {
      if (!slot.ready || slot.current) continue;
      const at = this.queue.findIndex((job) => job.lanes.includes(slot.lane));
      if (at < 0) continue;
      const job = this.batch(this.queue.splice(at, 1)[0]!, slot.lane);
      slot.current = job;
      job.slot = slot;
      sent.push(slot);
    }
    const wanted = this.options.threads === undefined ? this.wantedThreads() : undefined;
    for (const slot of sent) {
      const job = slot.current!;
      const threads = wanted?.get(slot);
      if (threads !== undefined) slot.asked = threads;
      const { op, drop, sends } = adapterRefs(slot, job.op);
      this.adapterSends += sends;
      slot.worker.postMessage({
        type: 'job',
        id: job.id,
        model: job.model,
        ...op,
        ...(job.aborted ? { aborted: true } : {}),
        ...(threads !== undefined ? { threads } : {}),
        ...(drop.length > 0 ? { drop } : {}),
      } as ToWorker);
    }
    this.balance();
  }

  /**
   * Answers waiting for the same model are sent as one batch (requests of different users' adapters share the
   * forward passes in the worker, as in-process batches do): `first` with every queued job of the same kind, model
   * and sampling options that this lane may run, up to MAX_BATCH_ROWS requests. Each job gets its own results.
   */
  private batch(first: PendingJob, lane: Lane): PendingJob {
    const kind = first.op.op;
    if ((kind !== 'scoreCandidates' && kind !== 'generate') || first.aborted) return first;
    const sampling = kind === 'generate' ? JSON.stringify((first.op as { sampling: unknown }).sampling) : '';
    const members = [first];
    let rows = rowsOf(first.op);
    for (let i = 0; i < this.queue.length && rows < MAX_BATCH_ROWS; ) {
      const job = this.queue[i]!;
      const same =
        job.model === first.model &&
        job.op.op === kind &&
        job.lanes.includes(lane) &&
        !job.aborted &&
        (kind !== 'generate' || JSON.stringify((job.op as { sampling: unknown }).sampling) === sampling);
      if (same && rows + rowsOf(job.op) <= MAX_BATCH_ROWS) {
        members.push(job);
        this.queue.splice(i, 1);
        rows += rowsOf(job.op);
      } else i++;
    }
    if (members.length === 1) return first;
    for (const m of members) m.batched = true;
    this.batches++;
    const requests = members.flatMap((m) => (m.op as { requests: readonly unknown[] }).requests);
    const op = (
      kind === 'generate'
        ? { op: 'generate', requests, sampling: (first.op as { sampling: unknown }).sampling }
        : { op: 'scoreCandidates', requests }
    ) as JobOp;
    return {
      id: this.nextId++,
      model: first.model,
      op,
      lanes: first.lanes,
      resolve: (result) => {
        let at = 0;
        for (const m of members) {
          const n = rowsOf(m.op);
          m.resolve((result as unknown[]).slice(at, at + n) as JobResult);
          at += n;
        }
      },
      reject: (error) => {
        for (const m of members) m.reject(error);
      },
      cleanup: () => {
        for (const m of members) m.cleanup?.();
      },
    };
  }

  /** Runs one job on a worker; `lanes` says which workers may take it. */
  run(
    model: string,
    op: JobOp,
    lanes: readonly Lane[],
    hooks: {
      readonly signal?: AbortSignal;
      readonly onProgress?: (event: ProgressEvent) => void;
      readonly onChunk?: (text: string) => void;
    } = {},
  ): Promise<JobResult> {
    if (this.closed) return Promise.reject(new OppuError('pool_closed', 'the engine pool is closed'));
    if (this.broken) return Promise.reject(new OppuError('worker_start', this.broken));
    if (hooks.signal?.aborted && op.op !== 'train' && op.op !== 'trainMany') {
      return Promise.reject(abortError(op.op));
    }
    return new Promise<JobResult>((resolve, reject) => {
      const job: PendingJob = {
        id: this.nextId++,
        model,
        op,
        lanes: hooks.signal?.aborted ? ['serve', 'train'] : lanes,
        ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
        ...(hooks.onChunk ? { onChunk: hooks.onChunk } : {}),
        resolve,
        reject,
        ...(hooks.signal?.aborted ? { aborted: true } : {}),
      };
      const signal = hooks.signal;
      if (signal) {
        const onAbort = () => {
          const queuedAt = this.queue.indexOf(job);
          if (queuedAt >= 0 && (op.op === 'train' || op.op === 'trainMany')) {
            // Trainings answer a cancel with their cancelled result, as in-process: any worker gives it at once.
            job.aborted = true;
            job.lanes = ['serve', 'train'];
            this.pump();
          } else if (queuedAt >= 0) {
            this.queue.splice(queuedAt, 1);
            job.cleanup?.();
            reject(abortError(op.op));
          } else if (job.batched) {
            // Its batch runs on for the others; this caller stops waiting now.
            job.cleanup?.();
            reject(abortError(op.op));
          } else if (job.slot?.current === job) {
            job.slot.worker.postMessage({ type: 'cancel', id: job.id } satisfies ToWorker);
          }
        };
        signal.addEventListener('abort', onAbort, { once: true });
        job.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(job);
      this.pump();
    });
  }

  /** Defines a merged base on every worker (and on each replacement); resolves with its info. */
  define(key: string, parent: string, weights: AdapterWeights): Promise<BaseModelInfo> {
    const d: Definition = { key, parent, weights };
    this.definitions.set(key, d);
    const id = this.nextId++;
    const answer = new Promise<BaseModelInfo>((resolve, reject) =>
      this.waitingDefines.set(id, { resolve, reject }),
    );
    let sent = false;
    for (const slot of this.slots) {
      if (slot?.ready) {
        slot.defines.add(id);
        slot.worker.postMessage({ type: 'define', id, key, parent, weights } satisfies ToWorker);
        sent = true;
      }
    }
    if (!sent) {
      this.waitingDefines.delete(id);
      return Promise.reject(
        new OppuError('pool_closed', 'no engine worker is running to merge the base model'),
      );
    }
    return answer.catch((error: unknown) => {
      this.undefine(key);
      throw error;
    });
  }

  /** A definition repeated to a worker that started after it (its answer is not waited for). */
  private sendDefine(slot: Slot, d: Definition): void {
    slot.worker.postMessage({
      type: 'define',
      id: this.nextId++,
      key: d.key,
      parent: d.parent,
      weights: d.weights,
    } satisfies ToWorker);
  }

  undefine(key: string): void {
    if (!this.definitions.delete(key)) return;
    for (const slot of this.slots)
      if (slot?.ready) slot.worker.postMessage({ type: 'undefine', key } satisfies ToWorker);
  }

  /** Test hook: makes one worker exit as a crash would (the pool replaces it). */
  crashWorker(lane: Lane, code = 7): void {
    const slot = this.slots.find((s) => s?.lane === lane && s.ready);
    slot?.worker.postMessage({ type: 'crash', code } satisfies ToWorker);
  }

  /** Counts a user of the pool; `release` closes it when the last one is done. */
  acquire(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs <= 0) void this.terminate();
  }

  /** Fails queued and running jobs and stops every worker. */
  async terminate(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failQueued('the engine pool was closed');
    for (const slot of this.slots) {
      const job = slot?.current;
      if (job) {
        job.cleanup?.();
        job.reject(
          new OppuError('pool_closed', `the engine pool was closed while running ${job.op.op} job ${job.id}`),
        );
      }
    }
    for (const w of this.waitingDefines.values())
      w.reject(new OppuError('pool_closed', 'the engine pool was closed'));
    this.waitingDefines.clear();
    await Promise.all(this.slots.map((slot) => slot?.worker.terminate()));
  }
}

/**
 * The job as sent to `slot`: each adapter's weights go only to a worker that does not hold them yet, so an
 * adapter crosses the thread boundary once per worker (not with every request) and the worker's copy, and the
 * tensors it built from it, serve every later request. Past MAX_HELD_ADAPTERS, the least recently used ids are
 * dropped (the worker forgets them on this job's arrival).
 */
function adapterRefs(slot: Slot, op: JobOp): { op: JobOp; drop: number[]; sends: number } {
  let sends = 0;
  const send = (ref: AdapterRef | undefined): AdapterRef | undefined => {
    if (!ref) return undefined;
    const held = slot.held.delete(ref.id);
    slot.held.set(ref.id, true);
    if (held) return { id: ref.id };
    sends++;
    return ref;
  };
  const withRef = <R extends { readonly adapter?: AdapterRef }>(r: R): R => {
    const adapter = send(r.adapter);
    return adapter ? { ...r, adapter } : r;
  };
  let out: JobOp = op;
  if (op.op === 'generate') out = { ...op, requests: op.requests.map((r) => withRef(r)) };
  else if (op.op === 'scoreCandidates') out = { ...op, requests: op.requests.map((r) => withRef(r)) };
  else if (op.op === 'stream') out = { ...op, request: withRef(op.request) };
  else if (op.op === 'score') out = { ...op, request: withRef(op.request) };
  const drop: number[] = [];
  for (const id of slot.held.keys()) {
    if (slot.held.size <= MAX_HELD_ADAPTERS) break;
    slot.held.delete(id);
    drop.push(id);
  }
  return { op: out, drop, sends };
}

/** What an in-process engine throws when a signal stops generation or scoring (code `aborted`, name `AbortError`). */
function abortError(op: string): OppuError {
  const e = new OppuError('aborted', `${op}: cancelled`);
  e.name = 'AbortError';
  return e;
}

function fromWire(error: WireError): Error {
  if (error.code !== undefined) {
    const e = new OppuError(error.code, error.message);
    if (error.name === 'AbortError') e.name = 'AbortError';
    return e;
  }
  const e = new Error(error.message);
  e.name = error.name;
  return e;
}

/**
 * Starts `engine-worker` next to this file: the built `.js`, or under source (tests, `--conditions source`) the
 * `.ts` through tsx's loader, registered inside the worker before the entry is imported.
 */
function startWorker(start: WorkerStart, threads: number): Worker {
  const here = import.meta.url;
  const fromSource = here.endsWith('.ts');
  const entry = new URL(`./engine-worker.${fromSource ? 'ts' : 'js'}`, here);
  const env = {
    ...process.env,
    ...(process.env.OPPU_WASM_THREADS ? {} : { OPPU_WASM_THREADS: String(threads) }),
  };
  if (!fromSource) return new Worker(entry, { workerData: start, env });
  const tsx = pathToFileURL(
    createRequire(here)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), {
    workerData: start,
    env,
    execArgv: ['--conditions', 'source'],
  });
}
