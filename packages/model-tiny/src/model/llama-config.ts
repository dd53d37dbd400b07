import type { LlamaConfig as DecoderConfig } from '@oppu/trainer';

/** The architecture of a Llama-family decoder, as written to HF `config.json` (see `toHfConfig`). */
export interface LlamaConfig {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly maxPositionEmbeddings: number;
  readonly ropeTheta: number;
  readonly rmsNormEps: number;
  readonly tieWordEmbeddings: boolean;
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
}

/** HF transformers `LlamaConfig` JSON. */
export function toHfConfig(c: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.hiddenSize / c.numHeads,
    hidden_act: 'silu',
    max_position_embeddings: c.maxPositionEmbeddings,
    rope_theta: c.ropeTheta,
    rope_scaling: null,
    rms_norm_eps: c.rmsNormEps,
    tie_word_embeddings: c.tieWordEmbeddings,
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    pad_token_id: c.padTokenId,
    torch_dtype: 'float32',
    initializer_range: 0.02,
    use_cache: true,
  };
}

/** Parameter count (tied embeddings counted once). */
export function parameterCount(c: LlamaConfig): number {
  const d = c.hiddenSize;
  const hd = d / c.numHeads;
  const kv = c.numKvHeads * hd;
  const attn = d * d * 2 + d * kv * 2;
  const mlp = 3 * d * c.intermediateSize;
  const layer = attn + mlp + 2 * d;
  const embed = c.vocabSize * d;
  return embed * (c.tieWordEmbeddings ? 1 : 2) + c.numLayers * layer + d;
}

/** The trainer decoder's config for this architecture (HF `rotate_half` RoPE). */
export function toDecoderConfig(c: LlamaConfig): DecoderConfig {
  return {
    dim: c.hiddenSize,
    hidden: c.intermediateSize,
    layers: c.numLayers,
    heads: c.numHeads,
    kvHeads: c.numKvHeads,
    vocab: c.vocabSize,
    maxSeqLen: c.maxPositionEmbeddings,
    normEps: c.rmsNormEps,
    ropeTheta: c.ropeTheta,
    ropeStyle: 'half',
    tiedEmbeddings: c.tieWordEmbeddings,
  };
}
