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
  readonly signal?: AbortSignal;
}

/** One generation request; `adapter` selects the user's adapter (absent: the base model alone). */
export interface GenerateRequest {
  readonly prompt: string;
  readonly adapter?: AdapterWeights;
}

export interface GenerateResult {
  readonly text: string;
  readonly tokens: number;
  readonly finishReason: 'stop' | 'length' | 'abort';
}

/**
 * A base language model. Implementations batch requests that carry different users' adapters into one
 * forward pass where they can.
 */
export interface BaseModel {
  readonly info: BaseModelInfo;
  tokenize(text: string): number[];
  detokenize(ids: readonly number[]): string;
  generate(requests: readonly GenerateRequest[], options?: SamplingOptions): Promise<GenerateResult[]>;
  /** Streams the tokens of one request as text pieces. */
  stream?(request: GenerateRequest, options?: SamplingOptions): AsyncIterable<string>;
  /** Sum of log-probabilities of `completion` after `prompt`. */
  score(request: GenerateRequest & { readonly completion: string }): Promise<number>;
}
