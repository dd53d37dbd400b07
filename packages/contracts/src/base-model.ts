import type { ChatTemplateV1 } from './chat-template.js';
import type { AdapterWeights } from './tensors.js';

/** Which checkpoint a model is, so an adapter trained on one is never applied to another. */
export interface BaseModelInfo {
  /** A name such as `oppu/tiny-llama` or an HF repo id; written as `base_model_name_or_path`. */
  readonly name: string;
  /** Hex digest of the weights file(s); adapters record it and are refused by other bases. */
  readonly hash: string;
  readonly architecture: string;
  readonly parameters: number;
  readonly contextLength: number;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
}

export interface SamplingOptions {
  readonly maxNewTokens?: number;
  /** 0 (or undefined with no topK/topP) is greedy. */
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly stop?: readonly string[];
  readonly seed?: number;
  /**
   * Divides the logits of tokens already in the prompt or the output (CTRL's repetition penalty: positive
   * logits divided, negative ones multiplied); 1 (or undefined) is off.
   */
  readonly repetitionPenalty?: number;
  /**
   * Never generates an n-gram of this size that already occurs in the prompt or the output so far (HF's
   * `no_repeat_ngram_size` over the whole sequence); 0 is off.
   */
  readonly noRepeatNgramSize?: number;
  /**
   * What the repetition penalty and no-repeat n-grams look at: prompt and output ('all', HF's semantics, the
   * default) or the output alone ('output': copying from the prompt is never penalised, loops in the answer are).
   */
  readonly repetitionScope?: 'all' | 'output';
  readonly signal?: AbortSignal;
}

/**
 * How a prompt is tokenized: `'text'` (default) with the tokenizer's special tokens added (BOS) and special-token
 * strings in it read as plain characters; `'chat'`, a prompt the model's `chatTemplate` rendered: its
 * special-token strings are the tokens and nothing is added (the template writes BOS where the model wants it).
 */
export type PromptFormat = 'text' | 'chat';

/** One label-scoring request: each candidate is scored as a continuation of the prompt. */
export interface ScoreRequest {
  readonly prompt: string;
  readonly promptFormat?: PromptFormat;
  /** The answers to score (for LaMP's label tasks, the task's label set); at least one. */
  readonly candidates: readonly string[];
  /** The user's adapter; absent: the base model alone. */
  readonly adapter?: AdapterWeights;
}

export interface CandidateScores {
  /** Per candidate: the sum of the log-probabilities of its tokens after the prompt (natural log). */
  readonly logProbs: readonly number[];
  /** Per candidate: how many log-probabilities were summed (its tokens, plus the end of the answer where the model scores one): the divisor for a per-token mean. */
  readonly tokens: readonly number[];
}

/** One generation request; `adapter` selects the user's adapter (absent: the base model alone). */
export interface GenerateRequest {
  readonly prompt: string;
  readonly promptFormat?: PromptFormat;
  readonly adapter?: AdapterWeights;
}

export interface GenerateResult {
  readonly text: string;
  readonly tokens: number;
  readonly finishReason: 'stop' | 'length' | 'abort';
  /** The ids the prompt was fed as (the tokenizer's special tokens included, e.g. BOS), where the model tells. */
  readonly promptIds?: readonly number[];
  /**
   * The generated ids (`tokens` of them), where the model tells: the end-of-text id is not among them; a stop
   * sequence's ids are (`text` is cut before it).
   */
  readonly ids?: readonly number[];
}

/**
 * A base language model. Implementations batch requests that carry different users' adapters into one
 * forward pass where they can.
 */
export interface BaseModelV1 {
  readonly info: BaseModelInfo;
  /**
   * An instruct model's chat template (from its `tokenizer_config.json`); absent for a base model, whose
   * questions are written with the task's prompt templates.
   */
  readonly chatTemplate?: ChatTemplateV1;
  tokenize(text: string): number[];
  detokenize(ids: readonly number[]): string;
  generate(requests: readonly GenerateRequest[], options?: SamplingOptions): Promise<GenerateResult[]>;
  /** Streams the tokens of one request as text pieces. */
  stream?(request: GenerateRequest, options?: SamplingOptions): AsyncIterable<string>;
  /** Sum of log-probabilities of `completion` after `prompt`. */
  score(request: GenerateRequest & { readonly completion: string }): Promise<number>;
  /**
   * Scores every candidate of every request (requests may carry different users' adapters) in batched forward
   * passes: what label-set tasks are answered with (`chooseCandidate` in the pipeline turns scores into a choice).
   */
  scoreCandidates(
    requests: readonly ScoreRequest[],
    options?: { readonly signal?: AbortSignal },
  ): Promise<CandidateScores[]>;
}

/** `BaseModelV1` under its unversioned name (the current version). */
export type BaseModel = BaseModelV1;
