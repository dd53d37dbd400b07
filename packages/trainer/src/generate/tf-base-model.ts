import { stat } from 'node:fs/promises';
import path from 'node:path';
import type {
  AdapterWeights,
  BaseModel,
  BaseModelInfo,
  GenerateRequest,
  GenerateResult,
  SamplingOptions,
} from '@oppu/core';
import { OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { loadHfCheckpoint } from '../loaders/hf-checkpoint.js';
import { type LoadedCheckpoint, loadLlama2c } from '../loaders/llama2c.js';
import type { LinearAdapter } from '../model/hooks.js';
import { LlamaModel } from '../model/llama.js';
import { HfTokenizer, type TextTokenizer } from '../tokenizer/hf-tokenizer.js';
import { type GenerateTokensOptions, generateTokens, type RowOutput } from './generate-tokens.js';

/** Decoder hooks for a request's adapter. If it has `dispose()`, it is called when its batch is done. */
export type ResolvedAdapter = LinearAdapter & { dispose?(): void };

export interface TfBaseModelOptions {
  /** Name for `BaseModelInfo.name` (written as `base_model_name_or_path` by adapters). */
  readonly name: string;
  /** sha256 of the weights file(s) (`LoadedCheckpoint.hash`). */
  readonly hash: string;
  /**
   * One adapter's hooks (LoRA, IA3, prompt tuning). Requests are grouped by adapter (the same
   * `AdapterWeights` object) and each group runs as its own batch. Without it, a request with an adapter
   * is an error.
   */
  readonly resolveAdapter?: (weights: AdapterWeights) => ResolvedAdapter;
  /**
   * Hooks for a whole batch whose row i uses `rows[i]` (undefined: base model), e.g. multi-adapter LoRA:
   * then requests with different adapters share one forward pass. Takes precedence over `resolveAdapter`.
   */
  readonly resolveBatch?: (rows: readonly (AdapterWeights | undefined)[]) => ResolvedAdapter | undefined;
  /**
   * With `resolveBatch`: whether requests with this adapter may share a batch with other adapters (default
   * yes). Those that may not (e.g. IA3, prompt tuning) run in a batch of their own adapter.
   */
  readonly batchable?: (weights: AdapterWeights) => boolean;
  /** Requests per forward pass; default 32. */
  readonly maxBatchSize?: number;
  /** `maxNewTokens` when a call does not give one; default 128. */
  readonly defaultMaxNewTokens?: number;
}

/**
 * `BaseModel` over the Llama decoder and an HF tokenizer: batched generation (left padding, KV cache,
 * greedy / temperature / top-k / top-p, stop sequences, seed, AbortSignal), streaming and scoring.
 * Prompts are encoded with the tokenizer's special tokens (BOS); `tokenize` gives plain-text ids.
 */
export class TfBaseModel implements BaseModel {
  readonly info: BaseModelInfo;
  readonly model: LlamaModel;
  readonly tokenizer: TextTokenizer;
  private readonly options: TfBaseModelOptions;

  constructor(model: LlamaModel, tokenizer: TextTokenizer, options: TfBaseModelOptions) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.options = options;
    const c = model.config;
    if (tokenizer.vocabSize > c.vocab)
      throw new OppuError(
        'tokenizer_mismatch',
        `${options.name}: the tokenizer has ${tokenizer.vocabSize} tokens, more than the model's vocabulary of ${c.vocab}`,
      );
    this.info = Object.freeze({
      name: options.name,
      hash: options.hash,
      architecture: 'LlamaForCausalLM',
      parameters: model.numParameters,
      contextLength: c.maxSeqLen,
      vocabSize: c.vocab,
      hiddenSize: c.dim,
      numLayers: c.layers,
    });
  }

  /**
   * Loads a checkpoint: an HF folder (`config.json`, safetensors, `tokenizer.json`) or a llama2.c `.bin`
   * (then `tokenizer` must say where its tokenizer.json is, or be a tokenizer).
   */
  static async load(
    source: string,
    options: Partial<Omit<TfBaseModelOptions, 'hash'>> & { tokenizer?: string | TextTokenizer } = {},
  ): Promise<TfBaseModel> {
    const isDir = await stat(source).then(
      (s) => s.isDirectory(),
      (error: unknown) => {
        throw new OppuError('checkpoint_not_found', `${source}: cannot read (${(error as Error).message})`, {
          cause: error,
        });
      },
    );
    const ckpt: LoadedCheckpoint = isDir ? await loadHfCheckpoint(source) : await loadLlama2c(source);
    let tokenizer: TextTokenizer;
    if (typeof options.tokenizer === 'object') tokenizer = options.tokenizer;
    else if (options.tokenizer !== undefined || isDir)
      tokenizer = await HfTokenizer.load(options.tokenizer ?? source);
    else
      throw new OppuError(
        'tokenizer_not_found',
        `${source}: a llama2.c checkpoint has no tokenizer; pass options.tokenizer (a tokenizer.json path)`,
      );
    const model = new LlamaModel(ckpt.config, ckpt.weights);
    try {
      return new TfBaseModel(model, tokenizer, {
        ...options,
        name: options.name ?? path.basename(path.resolve(source)),
        hash: ckpt.hash,
      });
    } catch (error) {
      model.dispose();
      throw error;
    }
  }

  tokenize(text: string): number[] {
    return this.tokenizer.encode(text, { addSpecialTokens: false });
  }

  detokenize(ids: readonly number[]): string {
    return this.tokenizer.decode(ids);
  }

  async generate(
    requests: readonly GenerateRequest[],
    options: SamplingOptions = {},
  ): Promise<GenerateResult[]> {
    const results: GenerateResult[] = new Array(requests.length);
    for (const group of this.groups(requests)) {
      const outputs = await this.runBatch(
        group.map((i) => requests[i] as GenerateRequest),
        options,
      );
      group.forEach((i, j) => {
        results[i] = outputs[j] as GenerateResult;
      });
    }
    return results;
  }

  /** Streams one request's text as it is generated; a stop sequence and anything after it is never emitted. */
  async *stream(request: GenerateRequest, options: SamplingOptions = {}): AsyncIterable<string> {
    const stops = (options.stop ?? []).filter((s) => s.length > 0);
    const holdBack = Math.max(0, ...stops.map((s) => s.length - 1));
    let emitted = 0;
    const prompt = this.encodePrompt(request.prompt, 0);
    const adapter = this.resolve([request]);
    const it = generateTokens(this.model, [prompt], this.tokenOptions(options, adapter));
    try {
      const ids: number[] = [];
      for (;;) {
        const r = await it.next();
        if (r.done) break;
        for (const e of r.value.tokens) ids.push(e.token);
        const text = this.tokenizer.decode(ids);
        const cut = firstStop(text, stops);
        // Hold back what could still become a stop sequence, and an unfinished multi-byte character.
        let end = cut ?? text.length - holdBack;
        while (end > emitted && text.charCodeAt(end - 1) === 0xfffd) end--;
        if (end > emitted) {
          yield text.slice(emitted, end);
          emitted = end;
        }
        if (cut !== undefined) return;
      }
      const text = this.tokenizer.decode(ids);
      const end = firstStop(text, stops) ?? text.length;
      if (end > emitted) yield text.slice(emitted, end);
    } finally {
      // Also when the consumer stops reading early: ends the decoding loop, which frees its KV cache.
      await it.return([]);
      adapter?.dispose?.();
    }
  }

  /** Sum of log-probabilities of the completion's tokens after the prompt (natural log). */
  async score(request: GenerateRequest & { readonly completion: string }): Promise<number> {
    const prompt = this.encodePrompt(request.prompt, 0);
    const completion = this.tokenizer.encode(request.completion, { addSpecialTokens: false });
    if (completion.length === 0) return 0;
    const ids = [...prompt, ...completion];
    if (ids.length > this.model.config.maxSeqLen)
      throw new OppuError(
        'sequence_too_long',
        `score: prompt + completion are ${ids.length} tokens, over the context length ${this.model.config.maxSeqLen}`,
      );
    const adapter = this.resolve([request]);
    try {
      const x = tf.tensor2d([ids], [1, ids.length], 'int32');
      const logits = this.model.forward(x, { adapter });
      x.dispose();
      const V = this.model.config.vocab;
      const p = logits.shape[1] - ids.length; // soft-prompt positions
      // Logits at positions prompt-1 .. n-2 predict the completion's tokens.
      const logProbs = tf.tidy(() =>
        tf.logSoftmax(
          tf.reshape(tf.slice(logits, [0, p + prompt.length - 1, 0], [1, completion.length, V]), [
            completion.length,
            V,
          ]),
        ),
      );
      logits.dispose();
      const data = await logProbs.data();
      logProbs.dispose();
      return completion.reduce((sum, tok, i) => sum + (data[i * V + tok] as number), 0);
    } finally {
      adapter?.dispose?.();
    }
  }

  dispose(): void {
    this.model.dispose();
  }

  // ---- internals

  private encodePrompt(prompt: string, index: number): number[] {
    const ids = this.tokenizer.encode(prompt);
    if (ids.length === 0)
      throw new OppuError(
        'empty_prompt',
        `generate: request ${index} has an empty prompt and the tokenizer adds no BOS`,
      );
    if (ids.length >= this.info.contextLength)
      throw new OppuError(
        'prompt_too_long',
        `generate: request ${index} has ${ids.length} prompt tokens; ${this.info.name} holds ${this.info.contextLength} in all, so shorten the prompt (e.g. retrieve fewer history items)`,
      );
    return ids;
  }

  private tokenOptions(options: SamplingOptions, adapter: LinearAdapter | undefined): GenerateTokensOptions {
    const eos = this.tokenizer.eosId;
    return {
      maxNewTokens: options.maxNewTokens ?? this.options.defaultMaxNewTokens ?? 128,
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      ...(options.topK !== undefined ? { topK: options.topK } : {}),
      ...(options.topP !== undefined ? { topP: options.topP } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(adapter ? { adapter } : {}),
      stopIds: eos === undefined ? [] : [eos],
      padId: this.tokenizer.padId ?? eos ?? 0,
    };
  }

  /** Batches: by adapter object (single-adapter resolver), or in order (batch resolver); at most maxBatchSize each. */
  private groups(requests: readonly GenerateRequest[]): number[][] {
    const max = Math.max(1, this.options.maxBatchSize ?? 32);
    const byKey = new Map<AdapterWeights | undefined, number[]>();
    requests.forEach((r, i) => {
      const shared =
        this.options.resolveBatch &&
        (r.adapter === undefined || (this.options.batchable?.(r.adapter) ?? true));
      const key = shared ? undefined : r.adapter;
      const list = byKey.get(key) ?? [];
      list.push(i);
      byKey.set(key, list);
    });
    const out: number[][] = [];
    for (const list of byKey.values())
      for (let i = 0; i < list.length; i += max) out.push(list.slice(i, i + max));
    return out;
  }

  private resolve(requests: readonly GenerateRequest[]): ResolvedAdapter | undefined {
    const rows = requests.map((r) => r.adapter);
    if (rows.every((a) => a === undefined)) return undefined;
    if (this.options.resolveBatch) return this.options.resolveBatch(rows);
    const first = rows[0];
    if (!this.options.resolveAdapter)
      throw new OppuError(
        'no_adapter_resolver',
        `${this.info.name}: a request carries an adapter but this model was built without resolveAdapter/resolveBatch`,
      );
    if (rows.some((a) => a !== first))
      throw new OppuError(
        'mixed_adapters',
        'generate: one batch mixes adapters; pass resolveBatch to serve that',
      );
    return this.options.resolveAdapter(first as AdapterWeights);
  }

  private async runBatch(
    requests: readonly GenerateRequest[],
    options: SamplingOptions,
  ): Promise<GenerateResult[]> {
    const prompts = requests.map((r, i) => this.encodePrompt(r.prompt, i));
    const stops = (options.stop ?? []).filter((s) => s.length > 0);
    const adapter = this.resolve(requests);
    try {
      const tokenOptions: GenerateTokensOptions = {
        ...this.tokenOptions(options, adapter),
        ...(stops.length > 0
          ? {
              shouldStop: (_row: number, ids: readonly number[]) =>
                firstStop(this.tokenizer.decode(ids), stops) !== undefined,
            }
          : {}),
      };
      const it = generateTokens(this.model, prompts, tokenOptions);
      let outputs: RowOutput[];
      for (;;) {
        const r = await it.next();
        if (r.done) {
          outputs = r.value;
          break;
        }
      }
      return outputs.map((o) => {
        const text = this.tokenizer.decode(o.ids);
        const cut = firstStop(text, stops);
        return {
          text: cut === undefined ? text : text.slice(0, cut),
          tokens: o.ids.length,
          finishReason: o.finishReason,
        };
      });
    } finally {
      adapter?.dispose?.();
    }
  }
}

/** Index of the earliest stop sequence in `text`, or undefined. */
function firstStop(text: string, stops: readonly string[]): number | undefined {
  let best: number | undefined;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best === undefined || i < best)) best = i;
  }
  return best;
}
