import type { LlamaConfig } from '../model/llama-config.js';

/** Everything that determines the pretrained weights, besides the corpus package versions and the code. */
export interface PretrainRecipe {
  readonly seed: number;
  readonly vocabSize: number;
  readonly model: Omit<LlamaConfig, 'vocabSize' | 'bosTokenId' | 'eosTokenId' | 'padTokenId'>;
  /** Main phase: `steps` steps of `batch` random windows of `seqLen` tokens. */
  readonly steps: number;
  readonly batch: number;
  readonly seqLen: number;
  /** Final phase at the full context: `longSteps` steps of `longBatch` windows of `longSeqLen` tokens. */
  readonly longSteps: number;
  readonly longBatch: number;
  readonly longSeqLen: number;
  readonly peakLr: number;
  readonly warmupSteps: number;
  /** Cosine decay ends at peakLr * minLrRatio. */
  readonly minLrRatio: number;
  readonly weightDecay: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly clipNorm: number;
  /** Validation loss (on the first `evalTokens` validation tokens) every `evalEvery` steps. */
  readonly evalEvery: number;
  readonly evalTokens: number;
  readonly checkpointEvery: number;
}

/**
 * The recipe of the shipped weights: d 256, 4 layers, tied 4096-token embeddings = 4.26 M parameters, 8.5 MB
 * in fp16. Sized from measured step times on the 2-core machine (wasm backend with the trainer's native matmul
 * and fused kernels: about 3,500 tokens/s for this model at 2,048 tokens a step): about 14.7 M tokens (2 epochs
 * of the train split) in about 75 minutes, inside the 90-minute budget with the data preparation and evaluation.
 * Most steps train on 256-token windows; a final phase trains on 1024-token windows so RoPE sees every position
 * up to max_position_embeddings.
 */
export const TINY_RECIPE: PretrainRecipe = {
  seed: 20241125,
  vocabSize: 4096,
  model: {
    hiddenSize: 256,
    intermediateSize: 704,
    numLayers: 4,
    numHeads: 4,
    numKvHeads: 4,
    maxPositionEmbeddings: 1024,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: true,
  },
  steps: 7000,
  batch: 8,
  seqLen: 256,
  longSteps: 200,
  longBatch: 2,
  longSeqLen: 1024,
  peakLr: 2e-3,
  warmupSteps: 200,
  minLrRatio: 0.1,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  clipNorm: 1,
  evalEvery: 200,
  evalTokens: 8192,
  checkpointEvery: 50,
};
