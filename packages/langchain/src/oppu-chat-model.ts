import { AsyncLocalStorage } from 'node:async_hooks';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import {
  BaseChatModel,
  type BaseChatModelCallOptions,
  type BaseChatModelParams,
  type BindToolsInput,
  type LangSmithParams,
} from '@langchain/core/language_models/chat_models';
import {
  AIMessageChunk,
  type BaseMessage,
  type ToolCall,
  type UsageMetadata,
} from '@langchain/core/messages';
import { type ChatGeneration, ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs';
import type { Runnable, RunnableBatchOptions, RunnableConfig } from '@langchain/core/runnables';
import { convertToOpenAITool } from '@langchain/core/utils/function_calling';
import {
  type CandidateScores,
  type ChatTool,
  userId as checkUserId,
  type GenerateRequest,
  type GenerateResult,
  LAMP_SAMPLING,
  type MethodName,
  methodName,
  OppuError,
  type OppuService,
  type PreparedAsk,
  type SamplingOptions,
} from '@oppu/core';
import { AnswerFilter } from './answer-filter.js';
import { type ChatQuestion, chatQuestion, type InputMode } from './chat-question.js';
import { GenerateBatch } from './generate-batch.js';

/** What both the constructor and each call may set; a call's value wins over the constructor's. */
export interface OppuChatModelSettings {
  /**
   * The personalization method (`base`, `rag`, `pag`, `oppu`, `oppu+rag`, `oppu+pag`). Default: from the
   * `rag`/`pag`/`adapter` flags when any is set, else the service's default (`oppu+pag` for a user with an
   * adapter when the service has a profile summarizer, `oppu+rag` without one, `pag`/`rag` for a user without
   * an adapter).
   */
  readonly method?: MethodName;
  /** Put the user's top-k history items into the prompt. */
  readonly rag?: boolean;
  /** Put the user's profile into the prompt (with retrieval, as OPPU's PAG; `rag: false` = the profile alone). */
  readonly pag?: boolean;
  /** Answer with the user's own adapter when they have one (default true). */
  readonly adapter?: boolean;
  /** History items retrieved into the prompt (default: the service's `k`). */
  readonly k?: number;
  /** How the last human message is read: `'auto'` (default), `'task'` or `'chat'` (see `InputMode`). */
  readonly input?: InputMode;
  /**
   * Most new tokens (default `LAMP_SAMPLING`'s for a task question, as `ask`; 128 for chat). A question of a
   * label task (classification, rating) is not generated but answered from the task's labels as `ask` answers
   * it, so the decoding settings do not apply to it.
   */
  readonly maxTokens?: number;
  /** 0 (default) is greedy decoding. */
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  /** Seed of the sampler, for reproducible sampling at temperature > 0. */
  readonly seed?: number;
}

export interface OppuChatModelCallOptions extends BaseChatModelCallOptions, OppuChatModelSettings {
  /** The user to answer; also read from `configurable.userId` of the runnable config. */
  readonly userId?: string;
  /** Tools offered to the model (set by `bindTools`; only where the base model's chat template has tool calls). */
  readonly tools?: readonly BindToolsInput[];
}

export interface OppuChatModelInput extends BaseChatModelParams, OppuChatModelSettings {
  /** The per-user service: its task, history, profiles, adapters (LRU-cached) and base model. */
  readonly service: OppuService;
  /** The user when a call names none. */
  readonly userId?: string;
  /** Stop sequences of every call (a call's own `stop` adds to them). */
  readonly stop?: readonly string[];
}

/** Sampling of a chat (non-task) question unless set. */
export const CHAT_SAMPLING: SamplingOptions = Object.freeze({ maxNewTokens: 128, temperature: 0 });

/** The `batch` an invocation belongs to (set by `OppuChatModel.batch` around each of its inputs). */
interface BatchSlot {
  readonly owner: OppuChatModel;
  readonly batch: GenerateBatch;
  /** The input's index in the batch. */
  readonly index: number;
  submitted: boolean;
}
const batchSlot = new AsyncLocalStorage<BatchSlot>();

/** Everything one call needs to generate: the prepared prompt, the request, sampling and how to cut the answer. */
interface PreparedCall {
  readonly question: ChatQuestion;
  /** A task question of a label task: the labels scored for its answer (instead of generating). */
  readonly labels?: readonly string[];
  readonly prepared: PreparedAsk;
  readonly request: GenerateRequest;
  readonly sampling: SamplingOptions;
  readonly stops: readonly string[];
  readonly trim: boolean;
  readonly promptTokens: number;
  /** Tools were offered: the answer is read for tool calls. */
  readonly tools: boolean;
}

/**
 * A LangChain chat model that answers each user as OPPU does: with that user's own LoRA adapter (loaded through
 * the service's LRU cache), their retrieved history and their profile in the prompt. The user is chosen per
 * call (`{ userId }` call option or `{ configurable: { userId } }`), so one model serves every user.
 *
 * A task question of a label task (LaMP-1/2/3) is answered as `service.ask` answers it: from the task's labels,
 * every label scored after the prompt and one chosen by `service.chooseLabel`; the message's
 * `response_metadata.probabilities` holds each label's probability.
 *
 * `batch` over inputs of different users makes one `generate` call on the base model with each request's own
 * adapter (one forward pass with the multi-adapter kernel), and one `scoreCandidates` call for label-task
 * questions, and returns what the inputs return one by one.
 */
export class OppuChatModel extends BaseChatModel<OppuChatModelCallOptions> {
  static override lc_name() {
    return 'OppuChatModel';
  }
  override lc_namespace = ['oppu', 'chat_models'];

  readonly service: OppuService;
  readonly userId: string | undefined;
  readonly settings: OppuChatModelSettings;
  readonly stop: readonly string[];

  constructor(fields: OppuChatModelInput) {
    super(fields);
    if (!fields?.service) {
      throw new OppuError(
        'no_service',
        'OppuChatModel: pass { service } (an OppuService, e.g. from createLocalOppu)',
      );
    }
    const {
      service,
      userId,
      stop,
      method,
      rag,
      pag,
      adapter,
      k,
      input,
      maxTokens,
      temperature,
      topP,
      topK,
      seed,
    } = fields;
    this.service = service;
    this.userId = userId;
    this.stop = stop ?? [];
    if (method !== undefined) methodName(method, 'OppuChatModel: method');
    this.settings = { method, rag, pag, adapter, k, input, maxTokens, temperature, topP, topK, seed };
    // LangChain (agents, withStructuredOutput, the standard tests) tells a tool-calling model by `bindTools`
    // being a function: both exist only where the base model's chat template has tool calls it can parse.
    if (service.engine.model.chatTemplate?.toolCalls === undefined) {
      Object.defineProperty(this, 'withStructuredOutput', { value: undefined, enumerable: false });
    } else {
      this.bindTools = (tools, kwargs) => this.withConfig({ ...(kwargs ?? {}), tools });
    }
  }

  /**
   * Binds tools to every call (`tools` call option); defined only when the base model's chat template has tool
   * calls (Qwen2.5, Llama 3.1/3.2, Mistral v0.3 formats), else undefined. The answer's `tool_calls` are parsed
   * from the model's own format; `withStructuredOutput` (LangChain's, through one tool) exists alongside it.
   */
  declare bindTools?: (
    tools: BindToolsInput[],
    kwargs?: Partial<OppuChatModelCallOptions>,
  ) => Runnable<BaseLanguageModelInput, AIMessageChunk, OppuChatModelCallOptions>;

  override get callKeys(): string[] {
    return [
      ...super.callKeys,
      'userId',
      'method',
      'rag',
      'pag',
      'adapter',
      'k',
      'input',
      'maxTokens',
      'temperature',
      'topP',
      'topK',
      'seed',
      'tools',
    ];
  }

  _llmType(): string {
    return 'oppu';
  }

  override _identifyingParams(): Record<string, unknown> {
    const info = this.service.engine.model.info;
    return {
      model_name: info.name,
      model_hash: info.hash,
      task: this.service.task.id,
      ...this.settings,
      ...(this.stop.length > 0 ? { stop: [...this.stop] } : {}),
    };
  }

  override invocationParams(options?: this['ParsedCallOptions']): Record<string, unknown> {
    const s = this.effective(options);
    return {
      model_name: this.service.engine.model.info.name,
      task: this.service.task.id,
      method: s.method,
      rag: s.rag,
      pag: s.pag,
      adapter: s.adapter,
      k: s.k,
      input: s.input,
      max_tokens: s.maxTokens,
      temperature: s.temperature,
      top_p: s.topP,
      top_k: s.topK,
      seed: s.seed,
    };
  }

  override getLsParams(options: this['ParsedCallOptions']): LangSmithParams {
    const s = this.effective(options);
    return {
      ls_provider: 'oppu',
      ls_model_name: this.service.engine.model.info.name,
      ls_model_type: 'chat',
      ...(s.temperature !== undefined ? { ls_temperature: s.temperature } : {}),
      ...(s.maxTokens !== undefined ? { ls_max_tokens: s.maxTokens } : {}),
      // The constructor's stop sequences and the call's, as `prepareCall` uses them (a task question adds its
      // task's own, which depend on the question and are not known here).
      ls_stop: [...new Set([...this.stop, ...(options?.stop ?? [])])],
    };
  }

  /** Copies `configurable.userId` of the runnable config into the call options (a `userId` call option wins). */
  private withConfigUser<T extends { userId?: string }>(config: RunnableConfig, call: T): T {
    const fromConfig = config.configurable?.userId as unknown;
    return call.userId === undefined && typeof fromConfig === 'string'
      ? { ...call, userId: fromConfig }
      : call;
  }

  protected override _separateRunnableConfigFromCallOptions(
    options?: Partial<OppuChatModelCallOptions>,
  ): [RunnableConfig, Omit<Partial<OppuChatModelCallOptions>, keyof RunnableConfig>] {
    const [config, call] = super._separateRunnableConfigFromCallOptions(options);
    return [config, this.withConfigUser(config, call)];
  }

  // BaseChatModel's generate and stream split the options here (and reach the method above through `super`).
  protected override _separateRunnableConfigFromCallOptionsCompat(
    options?: Partial<OppuChatModelCallOptions>,
  ): [RunnableConfig, this['ParsedCallOptions']] {
    const [config, call] = super._separateRunnableConfigFromCallOptionsCompat(options);
    return [config, this.withConfigUser(config, call)];
  }

  private effective(options?: Partial<OppuChatModelCallOptions>): OppuChatModelSettings {
    const out: Record<string, unknown> = { ...this.settings };
    if (options) {
      for (const key of Object.keys(this.settings)) {
        const value = (options as Record<string, unknown>)[key];
        if (value !== undefined) out[key] = value;
      }
    }
    return out as OppuChatModelSettings;
  }

  private resolveUser(options: Partial<OppuChatModelCallOptions>) {
    const chosen = options.userId ?? this.userId;
    if (chosen === undefined) {
      throw new OppuError(
        'no_user',
        'OppuChatModel: no user; pass { userId } as a call option, { configurable: { userId } } in the config, or userId to the constructor',
      );
    }
    return checkUserId(chosen, 'userId');
  }

  /** The method for this call from `method`, or from the flags (with the user's adapter when they have one). */
  private async methodFor(
    user: string,
    s: OppuChatModelSettings,
  ): Promise<{ method?: MethodName; k?: number }> {
    const k = s.k;
    if (s.method !== undefined)
      return { method: methodName(s.method, 'method'), ...(k !== undefined ? { k } : {}) };
    if (s.rag === undefined && s.pag === undefined && s.adapter === undefined)
      return k !== undefined ? { k } : {};
    const u = checkUserId(user);
    const useAdapter = (s.adapter ?? true) && (await this.service.versions(u)).length > 0;
    const rag = s.rag ?? true;
    // Unset, the profile goes in when the user has one (as the service does when it summarizes profiles).
    const pag = s.pag ?? (await this.service.profile(u)) !== undefined;
    const data = pag ? 'pag' : rag ? 'rag' : '';
    const method = (useAdapter ? (data ? `oppu+${data}` : 'oppu') : data || 'base') as MethodName;
    // pag without rag: the profile alone (no retrieved items).
    const kk = pag && !rag ? 0 : k;
    return { method, ...(kk !== undefined ? { k: kk } : {}) };
  }

  private async prepareCall(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
  ): Promise<PreparedCall> {
    options.signal?.throwIfAborted();
    const user = this.resolveUser(options);
    const s = this.effective(options);
    const tools = (options.tools ?? []).map(chatTool);
    const template = this.service.engine.model.chatTemplate;
    if (tools.length > 0 && template?.toolCalls === undefined)
      throw new OppuError(
        'tools_unsupported',
        `OppuChatModel: tools were given, but the base model (${this.service.engine.model.info.name}) has no chat template with tool calls`,
      );
    const toolCaller = template?.toolCalls !== undefined;
    const question = chatQuestion(
      messages,
      this.service.task,
      s.input ?? (tools.length > 0 ? 'chat' : 'auto'),
      toolCaller,
    );
    const choice = await this.methodFor(user, s);
    const input =
      question.kind === 'chat' && tools.length > 0 ? { ...question.input, tools } : question.input;
    const prepared = await this.service.prepare(user, input, choice);
    const task = question.kind === 'task';
    const labels = task ? this.service.labels : undefined;
    const defaults = task ? LAMP_SAMPLING[this.service.task.kind] : CHAT_SAMPLING;
    const stops = [...new Set([...(defaults.stop ?? []), ...this.stop, ...(options.stop ?? [])])];
    const temperature = s.temperature ?? defaults.temperature;
    // The defaults' other options (the anti-repetition ones of a task question) pass through as they are.
    const sampling: SamplingOptions = {
      ...defaults,
      maxNewTokens: s.maxTokens ?? defaults.maxNewTokens,
      ...(temperature !== undefined ? { temperature } : {}),
      ...(s.topK !== undefined ? { topK: s.topK } : {}),
      ...(s.topP !== undefined ? { topP: s.topP } : {}),
      ...(s.seed !== undefined ? { seed: s.seed } : {}),
      ...(stops.length > 0 ? { stop: stops } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const model = this.service.engine.model;
    return {
      question,
      ...(labels ? { labels } : {}),
      prepared,
      request: {
        prompt: prepared.prompt,
        ...(prepared.promptFormat === 'chat' ? { promptFormat: 'chat' as const } : {}),
        ...(prepared.adapter ? { adapter: prepared.adapter.weights } : {}),
      },
      sampling,
      stops,
      trim: task,
      promptTokens: model.tokenize(prepared.prompt).length,
      tools: tools.length > 0,
    };
  }

  /** Sends the request through the surrounding `batch` when there is one, else alone. */
  private async generateOne(call: PreparedCall): Promise<GenerateResult> {
    const slot = batchSlot.getStore();
    if (slot && slot.owner === this && !slot.submitted) {
      slot.submitted = true;
      return slot.batch.submit(call.request, call.sampling, slot.index);
    }
    const [result] = await this.service.engine.model.generate([call.request], call.sampling);
    if (!result)
      throw new OppuError('engine_result_count', 'the base model returned no result for one request');
    return result;
  }

  /** Scores the labels of a label-task question, through the surrounding `batch` when there is one. */
  private async scoreOne(call: PreparedCall, labels: readonly string[], signal?: AbortSignal) {
    const request = { ...call.request, candidates: labels };
    const slot = batchSlot.getStore();
    if (slot && slot.owner === this && !slot.submitted) {
      slot.submitted = true;
      return slot.batch.submitScore(request, signal, slot.index);
    }
    const [scores]: (CandidateScores | undefined)[] = await this.service.engine.model.scoreCandidates(
      [request],
      signal ? { signal } : {},
    );
    if (!scores)
      throw new OppuError('engine_result_count', 'the base model returned no scores for one request');
    return scores;
  }

  /** The whole answer at once: a label task's chosen label, or the generated text cut at the stops. */
  private async answerAtOnce(
    call: PreparedCall,
    signal?: AbortSignal,
  ): Promise<{ text: string; finishReason: string; probabilities?: Readonly<Record<string, number>> }> {
    if (call.labels) {
      const scores = await this.scoreOne(call, call.labels, signal);
      signal?.throwIfAborted();
      const choice = this.service.chooseLabel(scores);
      return { text: choice.answer, finishReason: 'stop', probabilities: choice.probabilities };
    }
    const result = await this.generateOne(call);
    signal?.throwIfAborted();
    return {
      text: AnswerFilter.apply(result.text, call.stops, { trim: call.trim }),
      finishReason: result.finishReason,
    };
  }

  /** With tools offered, the answer's tool calls in the chat template's format, and the text around them. */
  private readToolCalls(call: PreparedCall, answer: string): { text: string; toolCalls: ToolCall[] } {
    const template = this.service.engine.model.chatTemplate;
    if (!call.tools || !template) return { text: answer, toolCalls: [] };
    const parsed = template.parseToolCalls(answer);
    return {
      text: parsed.content,
      toolCalls: parsed.toolCalls.map((c, i) => ({
        type: 'tool_call' as const,
        id: c.id ?? `call_${i}`,
        name: c.name,
        args: { ...c.arguments },
      })),
    };
  }

  /** Token counts by the base model's tokenizer: the prompt, and the answer as returned. */
  private answerMetadata(
    call: PreparedCall,
    finishReason: string,
    answer: string,
    probabilities?: Readonly<Record<string, number>>,
  ) {
    const outputTokens = answer ? this.service.engine.model.tokenize(answer).length : 0;
    const usage: UsageMetadata = {
      input_tokens: call.promptTokens,
      output_tokens: outputTokens,
      total_tokens: call.promptTokens + outputTokens,
    };
    const response = {
      model_name: this.service.engine.model.info.name,
      user_id: call.prepared.user,
      method: call.prepared.method,
      question: call.question.kind,
      ...(call.prepared.adapter ? { adapter_version: call.prepared.adapter.meta.version } : {}),
      retrieved: call.prepared.retrieved.map((item) => item.id),
      finish_reason: finishReason,
      ...(probabilities ? { probabilities } : {}),
    };
    return { usage, response };
  }

  override async _generate(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    _runManager?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    const call = await this.prepareCall(messages, options);
    const answer = await this.answerAtOnce(call, options.signal);
    const { finishReason, probabilities } = answer;
    const { usage, response } = this.answerMetadata(call, finishReason, answer.text, probabilities);
    const { text, toolCalls } = this.readToolCalls(call, answer.text);
    // A chunk, as `invoke` is typed to return (LangChain's withStructuredOutput reads tool calls from one).
    const message = new AIMessageChunk({
      content: text,
      ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      usage_metadata: usage,
      response_metadata: response,
    });
    const generation: ChatGeneration = {
      text,
      message,
      generationInfo: { finish_reason: finishReason },
    };
    return {
      generations: [generation],
      llmOutput: {
        tokenUsage: {
          promptTokens: usage.input_tokens,
          completionTokens: usage.output_tokens,
          totalTokens: usage.total_tokens,
        },
      },
    };
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const call = await this.prepareCall(messages, options);
    const model = this.service.engine.model;
    const emit = async function* (text: string) {
      const chunk = new ChatGenerationChunk({ text, message: new AIMessageChunk({ content: text }) });
      yield chunk;
      await runManager?.handleLLMNewToken(
        text,
        { prompt: 0, completion: 0 },
        undefined,
        undefined,
        undefined,
        {
          chunk,
        },
      );
    };
    let answer = '';
    let finish: string;
    let probabilities: Readonly<Record<string, number>> | undefined;
    const slot = batchSlot.getStore();
    if (call.tools) {
      // Tools offered: the answer is read for tool calls whole, then sent as one piece.
      const whole = await this.answerAtOnce(call, options.signal);
      const { text, toolCalls } = this.readToolCalls(call, whole.text);
      const chunk = new ChatGenerationChunk({
        text,
        message: new AIMessageChunk({
          content: text,
          tool_call_chunks: toolCalls.map((c, index) => ({
            type: 'tool_call_chunk' as const,
            id: c.id,
            name: c.name,
            args: JSON.stringify(c.args),
            index,
          })),
        }),
      });
      yield chunk;
      await runManager?.handleLLMNewToken(
        text,
        { prompt: 0, completion: 0 },
        undefined,
        undefined,
        undefined,
        {
          chunk,
        },
      );
      answer = whole.text;
      finish = whole.finishReason;
    } else if (call.labels || (slot && slot.owner === this && !slot.submitted) || !model.stream) {
      // A label (chosen from scores), inside a batch (one forward pass for every input) or on a model that
      // cannot stream: one piece.
      const whole = await this.answerAtOnce(call, options.signal);
      if (whole.text) yield* emit(whole.text);
      answer = whole.text;
      finish = whole.finishReason;
      probabilities = whole.probabilities;
    } else {
      const filter = new AnswerFilter(call.stops, { trim: call.trim });
      let raw = '';
      finish = 'length';
      for await (const piece of model.stream(call.request, call.sampling)) {
        raw += piece;
        const out = filter.push(piece);
        answer += out;
        if (out) yield* emit(out);
        if (filter.done) {
          finish = 'stop';
          break;
        }
      }
      options.signal?.throwIfAborted();
      const rest = filter.end();
      answer += rest;
      if (rest) yield* emit(rest);
      // The base model ends early at its own stop sequence or end of text; otherwise at maxNewTokens.
      if (
        finish !== 'stop' &&
        model.tokenize(raw).length < (call.sampling.maxNewTokens ?? Number.POSITIVE_INFINITY)
      ) {
        finish = 'stop';
      }
    }
    const { usage, response } = this.answerMetadata(call, finish, answer, probabilities);
    yield new ChatGenerationChunk({
      text: '',
      message: new AIMessageChunk({ content: '', usage_metadata: usage, response_metadata: response }),
      generationInfo: { finish_reason: finish },
    });
  }

  /**
   * Runs the inputs as `invoke` does (callbacks, per-input config and user), but sends their requests to the
   * base model in one `generate` call (per `maxConcurrency` inputs, when set; label-task questions in one
   * `scoreCandidates` call), so the users' adapters are applied in one forward pass. Results are those of the
   * same inputs invoked one by one.
   */
  override async batch(
    inputs: Parameters<OppuChatModel['invoke']>[0][],
    options?: Partial<OppuChatModelCallOptions> | Partial<OppuChatModelCallOptions>[],
    batchOptions?: RunnableBatchOptions & { returnExceptions?: false },
  ): Promise<AIMessageChunk[]>;
  override async batch(
    inputs: Parameters<OppuChatModel['invoke']>[0][],
    options?: Partial<OppuChatModelCallOptions> | Partial<OppuChatModelCallOptions>[],
    batchOptions?: RunnableBatchOptions & { returnExceptions: true },
  ): Promise<(AIMessageChunk | Error)[]>;
  override async batch(
    inputs: Parameters<OppuChatModel['invoke']>[0][],
    options?: Partial<OppuChatModelCallOptions> | Partial<OppuChatModelCallOptions>[],
    batchOptions?: RunnableBatchOptions,
  ): Promise<(AIMessageChunk | Error)[]>;
  override async batch(
    inputs: Parameters<OppuChatModel['invoke']>[0][],
    options?: Partial<OppuChatModelCallOptions> | Partial<OppuChatModelCallOptions>[],
    batchOptions?: RunnableBatchOptions,
  ): Promise<(AIMessageChunk | Error)[]> {
    const configs = this._getOptionsList(options ?? {}, inputs.length);
    const size = Math.max(1, configs[0]?.maxConcurrency ?? batchOptions?.maxConcurrency ?? inputs.length);
    const out: (AIMessageChunk | Error)[] = [];
    for (let start = 0; start < inputs.length; start += size) {
      const part = inputs.slice(start, start + size);
      const batch = new GenerateBatch(this.service.engine.model, part.length);
      const results = await Promise.all(
        part.map((input, j) => {
          const slot: BatchSlot = { owner: this, batch, index: j, submitted: false };
          return batchSlot.run(slot, async () => {
            try {
              return await this.invoke(input, configs[start + j]);
            } catch (error) {
              if (batchOptions?.returnExceptions) return error as Error;
              throw error;
            } finally {
              if (!slot.submitted) batch.withdraw();
            }
          });
        }),
      );
      out.push(...results);
    }
    return out;
  }
}

/** A LangChain tool (a tool, an OpenAI-format tool or function) as the chat template's `tools` entry. */
function chatTool(tool: BindToolsInput): ChatTool {
  const { function: f } = convertToOpenAITool(tool as Parameters<typeof convertToOpenAITool>[0]);
  return {
    name: f.name,
    ...(f.description !== undefined ? { description: f.description } : {}),
    parameters: (f.parameters ?? { type: 'object', properties: {} }) as Record<string, unknown>,
  };
}
