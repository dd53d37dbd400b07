import { createHash } from 'node:crypto';
import {
  type AdapterTrainingResult,
  type AdapterWeights,
  OppuError,
  type PeftEngine,
  type TrainAdapterOptions,
  type TrainingExample,
} from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { LRUCache } from 'lru-cache';
import { type BackendInfo, initBackend } from '../backend/init-backend.js';
import { type ResolvedAdapter, TfBaseModel } from '../generate/tf-base-model.js';
import { installKernels } from '../kernels/index.js';
import { createPeftMethod, loadPeftMethod, peftTypeOf } from '../peft/create.js';
import { LoraModel } from '../peft/lora/model.js';
import { MultiLora } from '../peft/lora/multi.js';
import { peftMethods } from '../peft/methods.js';
import type { BatchAdapter, PeftMethod } from '../peft/peft-method.js';
import { trainAdapter } from '../train/train-adapter.js';
import { trainAdapters } from '../train/train-adapters.js';
import { resolveTrainingConfig } from '../train/train-config.js';

let kernelsInstalled = false;

export interface TfPeftEngineOptions {
  /** Name written as `base_model_name_or_path`; default: the folder name. */
  readonly name?: string;
  /** Adapters kept loaded as tensors between calls (default 64). */
  readonly maxLoadedAdapters?: number;
  readonly onLog?: (line: string) => void;
  /**
   * Token budgets of one forward pass (rows x padded length): `training` for a training pass (a step over it
   * runs as several passes whose gradients add up), `inference` for a generation prefill or a scoring pass.
   * Defaults: what 1 GiB of activations holds at full context (`defaultBatchTokens`, model/memory-budget.ts).
   */
  readonly maxBatchTokens?: { readonly training?: number; readonly inference?: number };
}

/**
 * The PEFT engine on TensorFlow.js: a Llama-family base model plus adapter training and multi-adapter serving.
 * Every `trainAdapter` call starts from a fresh adapter (or from `init`) and never changes the base weights;
 * `generate` serves requests with different users' LoRAs in one forward pass (rows gather their own adapter).
 */
export class TfPeftEngine implements PeftEngine {
  readonly model: TfBaseModel;
  readonly backend: string;
  readonly source: string;
  private readonly loaded: LRUCache<AdapterWeights, PeftMethod>;
  /** Batches in flight per loaded method: an evicted method is freed only when none uses it any more. */
  private readonly inUse = new Map<PeftMethod, number>();
  private readonly evicted = new Set<PeftMethod>();
  private readonly options: TfPeftEngineOptions;
  /** Adapters merged into this engine's base (stage 1), in order. */
  private readonly merged: readonly AdapterWeights[];

  private constructor(
    source: string,
    backend: BackendInfo,
    model: TfBaseModel,
    options: TfPeftEngineOptions,
    merged: readonly AdapterWeights[],
  ) {
    this.source = source;
    this.backend = backend.name;
    this.options = options;
    this.merged = merged;
    this.loaded = new LRUCache<AdapterWeights, PeftMethod>({
      max: options.maxLoadedAdapters ?? 64,
      dispose: (method) => {
        if (this.inUse.has(method)) this.evicted.add(method);
        else method.dispose();
      },
    });
    this.model = model;
  }

  /** Loads a checkpoint folder (HF layout) on the fastest available backend. */
  static async load(source: string, options: TfPeftEngineOptions = {}): Promise<TfPeftEngine> {
    const backend = await initBackend(options.onLog ? { log: options.onLog } : {});
    if (backend.name === 'wasm' && !kernelsInstalled) {
      const k = installKernels();
      kernelsInstalled = true;
      options.onLog?.(`oppu: wasm kernels: matMul ${k.matMul} (${k.native})`);
    }
    return TfPeftEngine.build(source, backend, options, []);
  }

  private static async build(
    source: string,
    backend: BackendInfo,
    options: TfPeftEngineOptions,
    merged: readonly AdapterWeights[],
  ): Promise<TfPeftEngine> {
    let engine: TfPeftEngine | undefined;
    const model = await TfBaseModel.load(source, {
      ...(options.name ? { name: options.name } : {}),
      ...(options.maxBatchTokens?.inference !== undefined
        ? { maxBatchTokens: options.maxBatchTokens.inference }
        : {}),
      resolveBatch: (rows) => engine!.resolveBatch(rows),
      batchable: (weights) => peftMethods.forWeights(weights).multiAdapterBatching,
    });
    engine = new TfPeftEngine(source, backend, model, options, merged);
    if (merged.length > 0) {
      // Stage 1: fold the task adapters into the base weights, and give the result its own identity.
      const hash = createHash('sha256').update(model.info.hash);
      for (const weights of merged) {
        const lora = LoraModel.fromWeights(weights, model.model.dims, 'task adapter');
        try {
          lora.merge(model.model);
        } finally {
          lora.dispose();
        }
        for (const [name, t] of [...weights.tensors].sort(([a], [b]) => (a < b ? -1 : 1))) {
          hash.update(name).update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        }
      }
      const info = model.info as { name: string; hash: string };
      Object.defineProperty(model, 'info', {
        value: Object.freeze({ ...model.info, name: `${info.name}+task`, hash: hash.digest('hex') }),
      });
    }
    return engine;
  }

  /**
   * One batch's hooks: rows of a method with multi-adapter batching (LoRA) share one pass, each row reading its
   * own adapter's tensors (BGMV, nothing stacked or copied per batch); another method needs a batch of its own.
   * The batch's adapters stay loaded (not freed by the LRU) until the hooks are disposed.
   */
  private resolveBatch(rows: readonly (AdapterWeights | undefined)[]): ResolvedAdapter | undefined {
    const distinct = [...new Set(rows.filter((r): r is AdapterWeights => r !== undefined))];
    if (distinct.length === 0) return undefined;
    // Each method is marked in use as soon as it is loaded: loading the next may evict it from the LRU.
    const methods: PeftMethod[] = [];
    let hooks: BatchAdapter;
    try {
      for (const w of distinct) {
        const m = this.method(w);
        this.inUse.set(m, (this.inUse.get(m) ?? 0) + 1);
        methods.push(m);
      }
      const kinds = [...new Set(distinct.map((w) => peftMethods.forWeights(w)))];
      const batch = kinds.length === 1 ? kinds[0]!.batchAdapter : undefined;
      if (batch) {
        hooks = batch(
          methods,
          rows.map((r) => (r === undefined ? -1 : distinct.indexOf(r))),
        );
      } else if (distinct.length === 1 && rows.every((r) => r === distinct[0])) {
        hooks = methods[0]!.asLinearAdapter();
      } else {
        const alone = kinds.filter((k) => !k.batchAdapter).map((k) => k.name);
        throw new OppuError(
          'mixed_adapters',
          `generate: ${alone.length > 0 ? `${alone.join(' and ')} adapters cannot share a batch with other adapters` : `adapters of ${kinds.map((k) => k.name).join(' and ')} cannot share a batch`}; send them in separate calls`,
        );
      }
    } catch (error) {
      for (const m of methods) this.release(m);
      throw error;
    }
    let released = false;
    return {
      linear: (ctx, x, base, weight) => hooks.linear(ctx, x, base, weight),
      ...(hooks.prefixEmbeddings ? { prefixEmbeddings: (b: number) => hooks.prefixEmbeddings!(b) } : {}),
      ...(hooks.lowRank ? { lowRank: (ctx) => hooks.lowRank!(ctx) } : {}),
      dispose: () => {
        if (released) return;
        released = true;
        hooks.dispose?.();
        for (const m of methods) this.release(m);
      },
    };
  }

  private release(method: PeftMethod): void {
    const n = (this.inUse.get(method) ?? 1) - 1;
    if (n > 0) {
      this.inUse.set(method, n);
      return;
    }
    this.inUse.delete(method);
    if (this.evicted.delete(method)) method.dispose();
  }

  private method(weights: AdapterWeights): PeftMethod {
    let m = this.loaded.get(weights);
    if (!m) {
      m = loadPeftMethod(weights, this.model.model.dims);
      this.loaded.set(weights, m);
    }
    return m;
  }

  async trainAdapter(
    examples: readonly TrainingExample[],
    options: TrainAdapterOptions,
  ): Promise<AdapterTrainingResult> {
    if (examples.length === 0) throw new OppuError('no_examples', 'trainAdapter: no training examples');
    const llama = this.model.model;
    const dims = llama.dims;
    const config = resolveTrainingConfig(options.training ?? {});
    let method: PeftMethod;
    if (options.init) {
      if (peftTypeOf(options.init) !== options.peft.method) {
        throw new OppuError(
          'adapter_mismatch',
          `trainAdapter: init is a ${peftTypeOf(options.init)} adapter but the config asks for ${options.peft.method}`,
        );
      }
      method = loadPeftMethod(options.init, dims, 'init adapter');
    } else {
      method = createPeftMethod(options.peft, dims, {
        seed: config.seed,
        // Prompt tuning from text starts from the embeddings of that text's tokens.
        initEmbeddings: (text: string) =>
          tf.tidy(() => {
            const ids = this.model.tokenize(text);
            return tf.gather(llama.embeddings, tf.tensor1d(ids, 'int32')) as tf.Tensor2D;
          }),
      });
    }
    // Training text is `${prompt} ${answer}`: the ids `scoreCandidates` scores an answer by (`answerIds`).
    const tok = this.model.tokenizer;
    const ids = examples.map((ex) => ({
      prompt: tok.encode(ex.prompt),
      answer: this.model.answerIds(ex.answer),
    }));
    const started = performance.now();
    let cancelled = false;
    let result: Awaited<ReturnType<typeof trainAdapter>> | undefined;
    try {
      result = await trainAdapter(llama, method, ids, config, {
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(tok.padId !== undefined ? { padId: tok.padId } : {}),
        ...(tok.eosId !== undefined ? { eosId: tok.eosId } : {}),
        ...this.trainBudget(),
      });
    } catch (error) {
      if ((error as OppuError).code !== 'aborted') {
        method.dispose();
        throw error;
      }
      cancelled = true;
    }
    try {
      const weights = method.toWeights({ baseModelNameOrPath: this.model.info.name });
      return {
        weights,
        steps: result?.steps ?? 0,
        tokens: result?.tokens ?? 0,
        finalLoss: result?.finalLoss ?? Number.NaN,
        losses: result?.losses ?? [],
        seconds: (performance.now() - started) / 1000,
        cancelled,
      };
    } finally {
      method.dispose();
    }
  }

  async trainAdapters(
    perUser: readonly (readonly TrainingExample[])[],
    options: TrainAdapterOptions & { readonly inits?: readonly (AdapterWeights | undefined)[] },
  ): Promise<AdapterTrainingResult[]> {
    if (options.peft.method !== 'lora') {
      throw new OppuError('invalid_argument', 'trainAdapters: batched training is for LoRA adapters');
    }
    if (perUser.length === 0 || perUser.some((ex) => ex.length === 0)) {
      throw new OppuError('no_examples', 'trainAdapters: every user needs at least one training example');
    }
    const llama = this.model.model;
    const config = resolveTrainingConfig(options.training ?? {});
    // Each user's adapter starts as `trainAdapter` would start it: fresh with the same seed, or their own init.
    const multi = MultiLora.create(
      options.peft,
      llama.dims,
      perUser.map(() => config.seed),
    );
    const tok = this.model.tokenizer;
    const started = performance.now();
    try {
      options.inits?.forEach((init, i) => {
        if (!init) return;
        const lora = LoraModel.fromWeights(init, llama.dims, `init adapter of user ${i}`);
        try {
          multi.setAdapter(i, lora);
        } finally {
          lora.dispose();
        }
      });
      const ids = perUser.map((examples) =>
        examples.map((ex) => ({
          prompt: tok.encode(ex.prompt),
          answer: this.model.answerIds(ex.answer),
        })),
      );
      let cancelled = false;
      let results: Awaited<ReturnType<typeof trainAdapters>> | undefined;
      try {
        results = await trainAdapters(llama, multi, ids, config, {
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(tok.padId !== undefined ? { padId: tok.padId } : {}),
          ...(tok.eosId !== undefined ? { eosId: tok.eosId } : {}),
          ...this.trainBudget(),
        });
      } catch (error) {
        if ((error as OppuError).code !== 'aborted') throw error;
        cancelled = true;
      }
      const seconds = (performance.now() - started) / 1000;
      return perUser.map((_, i) => {
        const r = results?.[i];
        return {
          weights: multi.adapterWeights(i, { baseModelNameOrPath: this.model.info.name }),
          steps: r?.steps ?? 0,
          tokens: r?.tokens ?? 0,
          finalLoss: r?.finalLoss ?? Number.NaN,
          losses: r?.losses ?? [],
          seconds,
          cancelled,
        };
      });
    } finally {
      multi.dispose();
    }
  }

  private trainBudget(): { maxBatchTokens?: number } {
    const tokens = this.options.maxBatchTokens?.training;
    return tokens === undefined ? {} : { maxBatchTokens: tokens };
  }

  async mergeAdapter(weights: AdapterWeights): Promise<TfPeftEngine> {
    if (peftTypeOf(weights) !== 'lora') {
      throw new OppuError(
        'merge_unsupported',
        'mergeAdapter: only LoRA adapters can be merged into the base',
      );
    }
    const backend = { name: this.backend } as BackendInfo;
    return TfPeftEngine.build(this.source, backend, this.options, [...this.merged, weights]);
  }

  dispose(): void {
    this.loaded.clear();
    this.model.dispose();
  }
}
