import { stat } from 'node:fs/promises';
import path from 'node:path';
import type {
  AdapterWeights,
  BaseModel,
  BaseModelInfo,
  CandidateScores,
  ChatTemplate,
  GenerateRequest,
  GenerateResult,
  PromptFormat,
  SamplingOptions,
  ScoreRequest,
} from '@oppu/core';
import { OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { loadHfCheckpoint } from '../loaders/hf-checkpoint.js';
import { type LoadedCheckpoint, loadLlama2c } from '../loaders/llama2c.js';
import type { LinearAdapter } from '../model/hooks.js';
import { KVCache, LlamaModel } from '../model/llama.js';
import { defaultBatchTokens } from '../model/memory-budget.js';
import { HfTokenizer, type TextTokenizer } from '../tokenizer/hf-tokenizer.js';
import { abortError } from '../train/train-adapter.js';
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
  /**
   * Token positions one generation prefill may hold: requests x their longest prompt. A batch over it is cut
   * into several (prompts of similar length together), so memory stays bounded however long the prompts are;
   * a prompt longer than the budget runs alone. Default: `defaultBatchTokens(dims, contextLength, 'inference')`,
   * what 1 GiB of activations holds (model/memory-budget.ts).
   */
  readonly maxBatchTokens?: number;
  /** `maxNewTokens` when a call does not give one; default 128. */
  readonly defaultMaxNewTokens?: number;
  /**
   * `scoreCandidates`: token positions one forward pass may hold, rows x padded length (a prompt prefill:
   * prompts x longest prompt; a candidate pass: candidates x (prompt + longest candidate), which is also the
   * size of the KV cache it copies). A longer prompt still runs, alone. Default: 8192, or `maxBatchTokens`'s
   * default when that is smaller.
   */
  readonly maxScoreTokens?: number;
}

/**
 * `BaseModel` over the Llama decoder and an HF tokenizer: batched generation (left padding, KV cache,
 * greedy / temperature / top-k / top-p, repetition penalty, no-repeat n-grams, stop sequences, seed,
 * AbortSignal), streaming, and scoring (one completion, or label candidates in batched passes).
 * Prompts are encoded with the tokenizer's special tokens (BOS), a chat-template prompt (`promptFormat: 'chat'`)
 * with its special-token strings as tokens and nothing added; `tokenize` gives plain-text ids.
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

  /** The tokenizer's chat template (an instruct model); undefined for a base model. */
  get chatTemplate(): ChatTemplate | undefined {
    return this.tokenizer.chatTemplate;
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
    const prompts = requests.map((r, i) => this.encodePrompt(r.prompt, i, 'generate', r.promptFormat));
    const budget = this.batchTokens();
    for (const group of this.groups(requests)) {
      for (const part of byTokens(group, prompts, budget)) {
        const outputs = await this.runBatch(
          part.map((i) => requests[i] as GenerateRequest),
          part.map((i) => prompts[i] as number[]),
          options,
        );
        part.forEach((i, j) => {
          results[i] = outputs[j] as GenerateResult;
        });
      }
    }
    return results;
  }

  /** Streams one request's text as it is generated; a stop sequence and anything after it is never emitted. */
  async *stream(request: GenerateRequest, options: SamplingOptions = {}): AsyncIterable<string> {
    const stops = (options.stop ?? []).filter((s) => s.length > 0);
    const holdBack = Math.max(0, ...stops.map((s) => s.length - 1));
    let emitted = 0;
    const prompt = this.encodePrompt(request.prompt, 0, 'stream', request.promptFormat);
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
    const prompt = this.encodePrompt(request.prompt, 0, 'score', request.promptFormat);
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

  /**
   * The ids an answer is trained as after its prompt: `TfPeftEngine` trains on `${prompt} ${answer}`, the
   * prompt encoded with BOS and the answer as ` ${answer}` without special tokens (the space belongs to the
   * answer), then EOS when the tokenizer has one. `scoreCandidates` scores exactly these ids (and that EOS).
   */
  answerIds(answer: string): number[] {
    return this.tokenizer.encode(` ${answer}`, { addSpecialTokens: false });
  }

  /**
   * Scores every candidate of every request as the answer training teaches after that prompt: the log-prob
   * (natural log) of the candidate's `answerIds` and then of the tokenizer's EOS, which training appends to
   * every answer. Counting the end matters for label sets: without it a candidate is credited with every
   * longer answer it begins ('dark' would score at least as high as 'dark comedy'), so short labels win.
   * `tokens` counts the log-probs summed (the candidate's ids, plus 1 for EOS): the divisor for a mean.
   *
   * Batched: requests are grouped as `generate` groups them (different users' adapters share passes through
   * `resolveBatch`; by adapter with `resolveAdapter`), prompts are sorted by length and left-padded, and each
   * group of prompts is prefilled once; every candidate then runs from a copy of its prompt's KV cache, all
   * candidates of the group in batched passes of only their own tokens. Every pass keeps to `maxScoreTokens`.
   * `signal` is checked before each pass (rejects with an AbortError). Equal, to float rounding, to `score()`
   * of ` ${candidate}` plus the EOS term.
   */
  async scoreCandidates(
    requests: readonly ScoreRequest[],
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<CandidateScores[]> {
    const { signal } = options;
    if (signal?.aborted) throw abortError('scoreCandidates', signal);
    const eos = this.tokenizer.eosId;
    const { maxSeqLen } = this.model.config;
    const prompts = requests.map((r, i) => this.encodePrompt(r.prompt, i, 'scoreCandidates', r.promptFormat));
    // Per request, per candidate: the ids whose log-probs are summed.
    const targets = requests.map((r, i) => {
      if (r.candidates.length === 0)
        throw new OppuError('no_candidates', `scoreCandidates: request ${i} has no candidates`);
      return r.candidates.map((c, j) => {
        const ids = [...this.answerIds(c), ...(eos === undefined ? [] : [eos])];
        // Fed to the model: the prompt, then every target but the last.
        const positions = (prompts[i] as number[]).length + ids.length - 1;
        if (positions > maxSeqLen)
          throw new OppuError(
            'sequence_too_long',
            `scoreCandidates: request ${i}, candidate ${j} (${JSON.stringify(c.slice(0, 40))}) needs ${positions} positions with its prompt, over the context length ${maxSeqLen}`,
          );
        return ids;
      });
    });
    const logProbs = targets.map((t) => new Array<number>(t.length).fill(0));
    const budget = Math.max(1, this.options.maxScoreTokens ?? Math.min(8192, this.batchTokens()));
    for (const group of this.groups(requests)) {
      // Shortest prompts first, so each chunk pads little; a chunk is as many as the budget holds.
      group.sort((a, b) => (prompts[a] as number[]).length - (prompts[b] as number[]).length);
      for (let start = 0; start < group.length; ) {
        let end = start + 1;
        while (
          end < group.length &&
          (end + 1 - start) * (prompts[group[end] as number] as number[]).length <= budget
        )
          end++;
        await this.scoreChunk(group.slice(start, end), requests, prompts, targets, logProbs, budget, signal);
        start = end;
      }
    }
    return targets.map((t, i) => ({ logProbs: logProbs[i] as number[], tokens: t.map((ids) => ids.length) }));
  }

  dispose(): void {
    this.model.dispose();
  }

  // ---- internals

  private encodePrompt(
    prompt: string,
    index: number,
    where: string,
    format: PromptFormat = 'text',
  ): number[] {
    if (format !== 'text' && format !== 'chat')
      throw new OppuError(
        'invalid_argument',
        `${where}: request ${index} has promptFormat ${JSON.stringify(format)}; use 'text' or 'chat'`,
      );
    // A chat-template prompt holds its own special tokens (BOS where the template writes it), as HF encodes it.
    const ids =
      format === 'chat'
        ? this.tokenizer.encode(prompt, { addSpecialTokens: false, parseSpecialTokens: true })
        : this.tokenizer.encode(prompt);
    if (ids.length === 0)
      throw new OppuError(
        'empty_prompt',
        `${where}: request ${index} has an empty prompt and the tokenizer adds no BOS`,
      );
    if (ids.length >= this.info.contextLength)
      throw new OppuError(
        'prompt_too_long',
        `${where}: request ${index} has ${ids.length} prompt tokens; ${this.info.name} holds ${this.info.contextLength} in all, so shorten the prompt (e.g. retrieve fewer history items)`,
      );
    return ids;
  }

  /** The token budget of a prefill: the option, or what the default activation memory holds at full context. */
  private batchTokens(): number {
    const given = this.options.maxBatchTokens;
    if (given !== undefined) return Math.max(1, given);
    return defaultBatchTokens(
      { ...this.model.dims, vocabSize: this.model.config.vocab },
      this.info.contextLength,
      'inference',
    );
  }

  private tokenOptions(options: SamplingOptions, adapter: LinearAdapter | undefined): GenerateTokensOptions {
    const eos = this.tokenizer.eosId;
    return {
      maxNewTokens: options.maxNewTokens ?? this.options.defaultMaxNewTokens ?? 128,
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      ...(options.topK !== undefined ? { topK: options.topK } : {}),
      ...(options.topP !== undefined ? { topP: options.topP } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.repetitionPenalty !== undefined ? { repetitionPenalty: options.repetitionPenalty } : {}),
      ...(options.noRepeatNgramSize !== undefined ? { noRepeatNgramSize: options.noRepeatNgramSize } : {}),
      ...(options.repetitionScope !== undefined ? { repetitionScope: options.repetitionScope } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(adapter ? { adapter } : {}),
      stopIds: eos === undefined ? [] : [eos],
      padId: this.tokenizer.padId ?? eos ?? 0,
    };
  }

  /** Batches: by adapter object (single-adapter resolver), or in order (batch resolver); at most maxBatchSize each. */
  private groups(requests: readonly { readonly adapter?: AdapterWeights }[]): number[][] {
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

  private resolve(requests: readonly { readonly adapter?: AdapterWeights }[]): ResolvedAdapter | undefined {
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
    prompts: readonly (readonly number[])[],
    options: SamplingOptions,
  ): Promise<GenerateResult[]> {
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
      return outputs.map((o, i) => {
        const text = this.tokenizer.decode(o.ids);
        const cut = firstStop(text, stops);
        return {
          text: cut === undefined ? text : text.slice(0, cut),
          tokens: o.ids.length,
          finishReason: o.finishReason,
          promptIds: prompts[i] as number[],
          ids: o.ids,
        };
      });
    } finally {
      adapter?.dispose?.();
    }
  }

  /**
   * One chunk of `scoreCandidates`: prefills its prompts (left-padded) into a KV cache, reads each candidate's
   * first target from the last prompt position, then runs the candidates from copies of their prompt's cache
   * rows, right-padded, in passes within `budget`; adds every target's log-prob into `logProbs`.
   */
  private async scoreChunk(
    chunk: readonly number[],
    requests: readonly ScoreRequest[],
    prompts: readonly (readonly number[])[],
    targets: readonly (readonly (readonly number[])[])[],
    logProbs: number[][],
    budget: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const padId = this.tokenizer.padId ?? this.tokenizer.eosId ?? 0;
    const L = Math.max(...chunk.map((i) => (prompts[i] as number[]).length));
    const promptMask = chunk.map((i) => {
      const n = (prompts[i] as number[]).length;
      return [...new Array<number>(L - n).fill(0), ...new Array<number>(n).fill(1)];
    });
    // A single-adapter resolver's hooks do not depend on the rows: one resolve serves every pass.
    const shared = this.options.resolveBatch ? undefined : this.resolve(chunk.map((i) => requests[i] ?? {}));
    const cache = new KVCache();
    try {
      // ---- Prefill: every prompt once; the last position predicts each candidate's first target.
      await nextPass(signal);
      const adapter = shared ?? this.resolve(chunk.map((i) => requests[i] ?? {}));
      try {
        const input = chunk.map((i) => {
          const p = prompts[i] as number[];
          return [...new Array<number>(L - p.length).fill(padId), ...p];
        });
        const ids = tf.tensor2d(input.flat(), [chunk.length, L], 'int32');
        let logits: tf.Tensor3D;
        try {
          logits = this.model.forward(ids, { adapter, cache, attentionMask: promptMask, logitsToKeep: 1 });
        } finally {
          ids.dispose();
        }
        const picks: { row: number; token: number; req: number; cand: number }[] = [];
        chunk.forEach((req, row) => {
          (targets[req] as number[][]).forEach((t, cand) => {
            if (t.length > 0) picks.push({ row, token: t[0] as number, req, cand });
          });
        });
        addPicks(logProbs, picks, await pickLogProbs(logits, picks));
      } finally {
        if (!shared) adapter?.dispose?.();
      }

      // ---- Candidates: each feeds its targets but the last, from a copy of its prompt's cache row.
      const rows: { row: number; req: number; cand: number; ids: readonly number[] }[] = [];
      chunk.forEach((req, row) => {
        (targets[req] as number[][]).forEach((ids, cand) => {
          if (ids.length > 1) rows.push({ row, req, cand, ids });
        });
      });
      // Similar lengths share a pass, so little of it is padding.
      rows.sort((x, y) => x.ids.length - y.ids.length);
      for (let start = 0; start < rows.length; ) {
        let end = start + 1;
        let m = (rows[start] as (typeof rows)[number]).ids.length - 1;
        while (end < rows.length) {
          const next = Math.max(m, (rows[end] as (typeof rows)[number]).ids.length - 1);
          if ((end + 1 - start) * (cache.length + next) > budget) break;
          m = next;
          end++;
        }
        await nextPass(signal);
        await this.scoreCandidateRows(
          rows.slice(start, end),
          m,
          cache,
          promptMask,
          requests,
          chunk,
          shared,
          logProbs,
        );
        start = end;
      }
    } finally {
      cache.dispose();
      shared?.dispose?.();
    }
  }

  /** One candidate pass of `scoreChunk`: `rows` feed their targets but the last, right-padded to `m`. */
  private async scoreCandidateRows(
    rows: readonly { row: number; req: number; cand: number; ids: readonly number[] }[],
    m: number,
    prompt: KVCache,
    promptMask: readonly (readonly number[])[],
    requests: readonly ScoreRequest[],
    chunk: readonly number[],
    shared: ResolvedAdapter | undefined,
    logProbs: number[][],
  ): Promise<void> {
    const padId = this.tokenizer.padId ?? this.tokenizer.eosId ?? 0;
    const R = rows.length;
    // Each row's own copy of its prompt's keys and values.
    const branch = prompt.selectRows(rows.map((r) => r.row));
    let adapter: ResolvedAdapter | undefined;
    try {
      adapter = shared ?? this.resolve(rows.map((r) => requests[chunk[r.row] as number] ?? {}));
      const input = rows.map((r) => {
        const fed = r.ids.slice(0, -1);
        return [...fed, ...new Array<number>(m - fed.length).fill(padId)];
      });
      const mask = rows.map((r) => {
        const n = r.ids.length - 1;
        return [
          ...(promptMask[r.row] as number[]),
          ...new Array<number>(n).fill(1),
          ...new Array<number>(m - n).fill(0),
        ];
      });
      const ids = tf.tensor2d(input.flat(), [R, m], 'int32');
      let logits: tf.Tensor3D;
      try {
        logits = this.model.forward(ids, { adapter, cache: branch, attentionMask: mask }); // [R, m, V]
      } finally {
        ids.dispose();
      }
      // Position t of a row predicts its target t + 1.
      const picks = rows.flatMap((r, q) =>
        r.ids.slice(1).map((token, t) => ({ row: q * m + t, token, req: r.req, cand: r.cand })),
      );
      addPicks(logProbs, picks, await pickLogProbs(logits, picks));
    } finally {
      branch.dispose();
      if (!shared) adapter?.dispose?.();
    }
  }
}

/**
 * A batch's requests cut into prefills of at most `budget` token positions (requests x longest prompt), when
 * it does not fit whole: shortest prompts first, each part as many as fit (at least one). Rows decode as they would alone, so the
 * parts give the batch's results.
 */
function byTokens(
  group: readonly number[],
  prompts: readonly (readonly number[])[],
  budget: number,
): number[][] {
  const longest = Math.max(...group.map((i) => (prompts[i] as number[]).length));
  if (group.length * longest <= budget) return [[...group]];
  const sorted = [...group].sort((a, b) => (prompts[a] as number[]).length - (prompts[b] as number[]).length);
  const parts: number[][] = [];
  for (let start = 0; start < sorted.length; ) {
    let end = start + 1;
    while (
      end < sorted.length &&
      (end + 1 - start) * (prompts[sorted[end] as number] as number[]).length <= budget
    )
      end++;
    parts.push(sorted.slice(start, end));
    start = end;
  }
  return parts;
}

/**
 * log p(token) for each pick, at its row of `logits` [n, 1 or m, V] (rows counted over the first two axes,
 * flattened): the picked logit minus the row's log-sum-exp, on the device, reading back only the picks (single
 * values gathered from the flattened logits, by slices of rows whose flat indices fit in int32).
 * Disposes `logits`.
 */
async function pickLogProbs(logits: tf.Tensor3D, picks: readonly Pick[]): Promise<Float32Array> {
  const [n, t, V] = logits.shape;
  const N = n * t;
  if (picks.length === 0) {
    logits.dispose();
    return new Float32Array(0);
  }
  const order = picks.map((_, k) => k).sort((a, b) => (picks[a] as Pick).row - (picks[b] as Pick).row);
  const rowsPerSlice = Math.max(1, Math.floor(2 ** 31 / V) - 1);
  const out = tf.tidy(() => {
    const rows = tf.reshape(logits, [N, V]);
    const lse = tf.logSumExp(rows, 1); // [N]
    const parts: tf.Tensor1D[] = [];
    for (let start = 0; start < N; start += rowsPerSlice) {
      const end = Math.min(N, start + rowsPerSlice);
      const inSlice = order.map((k) => picks[k] as Pick).filter((p) => p.row >= start && p.row < end);
      if (inSlice.length === 0) continue;
      const slice = end - start === N ? rows : tf.slice(rows, [start, 0], [end - start, V]);
      const flat = tf.tensor1d(
        inSlice.map((p) => (p.row - start) * V + p.token),
        'int32',
      );
      const rowIds = tf.tensor1d(
        inSlice.map((p) => p.row),
        'int32',
      );
      parts.push(tf.sub(tf.gather(tf.reshape(slice, [-1]), flat), tf.gather(lse, rowIds)));
    }
    return parts.length === 1 ? (parts[0] as tf.Tensor1D) : tf.concat(parts);
  });
  logits.dispose();
  try {
    const sorted = await out.data(); // in `order`
    const values = new Float32Array(picks.length);
    order.forEach((k, i) => {
      values[k] = sorted[i] as number;
    });
    return values;
  } finally {
    out.dispose();
  }
}

type Pick = { readonly row: number; readonly token: number };

/** Adds each pick's log-prob to its request's candidate. */
function addPicks(
  logProbs: number[][],
  picks: readonly { readonly req: number; readonly cand: number }[],
  values: Float32Array,
): void {
  picks.forEach((p, k) => {
    const scores = logProbs[p.req] as number[];
    scores[p.cand] = (scores[p.cand] as number) + (values[k] as number);
  });
}

/** Between scoring passes: stops on an aborted signal, and lets timers (and abort handlers) run. */
async function nextPass(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal?.aborted) throw abortError('scoreCandidates', signal);
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
