import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HostTensor } from '@oppu/core';
import { OppuError } from '@oppu/core';
import { writeSafetensors } from '../safetensors/write.js';
import { tinyTokenizerJson } from '../tokenizer/tiny-tokenizer.js';
import { createRng, deriveSeed } from '../train/rng.js';

/**
 * Small random checkpoints in each supported family's exact HF layout: the `config.json` fields the published
 * checkpoints carry (with small sizes), the tensor names, shapes ([out, in]) and dtypes of `model.safetensors`
 * (or shards and `model.safetensors.index.json`), and tokenizer files. Nothing downloads here, so the loader,
 * the decoder and independent references (scripts/torch_reference.py) are compared on these.
 */

export const CHECKPOINT_FAMILIES = [
  'llama2',
  'tinyllama',
  'llama3',
  'llama-linear',
  'llama-dynamic',
  'smollm2',
  'qwen2',
  'mistral',
] as const;
export type CheckpointFamily = (typeof CHECKPOINT_FAMILIES)[number];

/** The sizes of a random checkpoint (HF config names). */
export interface CheckpointSizes {
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly num_key_value_heads: number;
  /** Written as `head_dim` when set (Llama 3.x writes it; Mistral Nemo's differs from hidden / heads). */
  readonly head_dim?: number;
  readonly vocab_size: number;
  readonly max_position_embeddings: number;
}

export interface RandomCheckpointOptions {
  readonly seed?: number;
  /** Stored dtype; default: the family's published `torch_dtype` (bfloat16 for all but llama2/tinyllama). */
  readonly dtype?: 'float32' | 'float16' | 'bfloat16';
  /** Split the weights over this many files with a `model.safetensors.index.json`; default 1 (one file). */
  readonly shards?: number;
  /** Overrides of the family's tiny sizes (e.g. a real model's shape for speed comparisons). */
  readonly sizes?: Partial<CheckpointSizes>;
}

const TOKENIZER = tinyTokenizerJson();
/** The vocabulary of the tokenizer files written beside the weights. */
export const RANDOM_CHECKPOINT_VOCAB = Object.keys(
  (TOKENIZER.json.model as { vocab: Record<string, number> }).vocab,
).length;

const TINY: CheckpointSizes = {
  hidden_size: 64,
  intermediate_size: 112,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: RANDOM_CHECKPOINT_VOCAB,
  max_position_embeddings: 256,
};

/** The published shape of SmolLM2-135M (for speed comparisons at a real model's size). */
export const SMOLLM2_135M_SIZES: CheckpointSizes = {
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  vocab_size: 49152,
  max_position_embeddings: 8192,
};

/** Each family's config.json, as its published checkpoints write it, over the given sizes. */
export function familyConfig(
  family: CheckpointFamily,
  s: CheckpointSizes,
  dtype: string,
): Record<string, unknown> {
  const sizes = {
    hidden_size: s.hidden_size,
    intermediate_size: s.intermediate_size,
    num_hidden_layers: s.num_hidden_layers,
    num_attention_heads: s.num_attention_heads,
    num_key_value_heads: s.num_key_value_heads,
    ...(s.head_dim === undefined ? {} : { head_dim: s.head_dim }),
    max_position_embeddings: s.max_position_embeddings,
    vocab_size: s.vocab_size,
  };
  const llama = {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    initializer_range: 0.02,
    mlp_bias: false,
    model_type: 'llama',
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: null,
    rope_theta: 10000.0,
    tie_word_embeddings: false,
    torch_dtype: dtype,
    transformers_version: '4.45.0',
    use_cache: true,
    ...sizes,
  };
  switch (family) {
    case 'llama2':
    case 'tinyllama':
      return llama;
    case 'llama-linear':
      return { ...llama, rope_scaling: { type: 'linear', factor: 2.0 } };
    case 'llama-dynamic':
      return { ...llama, rope_scaling: { type: 'dynamic', factor: 2.0 } };
    case 'llama3':
      // Llama 3.2 1B/3B: head_dim written out, tied embeddings, llama3 rope scaling.
      return {
        ...llama,
        head_dim: s.head_dim ?? s.hidden_size / s.num_attention_heads,
        eos_token_id: [2],
        rope_scaling: {
          factor: 32.0,
          high_freq_factor: 4.0,
          low_freq_factor: 1.0,
          original_max_position_embeddings: 8192,
          rope_type: 'llama3',
        },
        rope_theta: 500000.0,
        tie_word_embeddings: true,
      };
    case 'smollm2':
      return { ...llama, rope_theta: 100000, tie_word_embeddings: true };
    case 'qwen2':
      // Qwen2.5-0.5B: q/k/v biases (implied by the architecture, no config key), tied embeddings.
      return {
        architectures: ['Qwen2ForCausalLM'],
        attention_dropout: 0.0,
        bos_token_id: 1,
        eos_token_id: 2,
        hidden_act: 'silu',
        initializer_range: 0.02,
        max_window_layers: s.num_hidden_layers,
        model_type: 'qwen2',
        rms_norm_eps: 1e-6,
        rope_scaling: null,
        rope_theta: 1000000.0,
        sliding_window: s.max_position_embeddings,
        tie_word_embeddings: true,
        torch_dtype: dtype,
        transformers_version: '4.45.0',
        use_cache: true,
        use_sliding_window: false,
        ...sizes,
      };
    case 'mistral':
      // Mistral 7B v0.1 (sliding window; here 8 positions so short prompts cross it), with an explicit
      // head_dim unlike hidden / heads as Mistral Nemo has.
      return {
        architectures: ['MistralForCausalLM'],
        attention_dropout: 0.0,
        bos_token_id: 1,
        eos_token_id: 2,
        hidden_act: 'silu',
        initializer_range: 0.02,
        model_type: 'mistral',
        rms_norm_eps: 1e-5,
        rope_theta: 10000.0,
        sliding_window: 8,
        tie_word_embeddings: false,
        torch_dtype: dtype,
        transformers_version: '4.45.0',
        use_cache: true,
        ...sizes,
        head_dim: s.head_dim ?? (3 * s.hidden_size) / (2 * s.num_attention_heads),
      };
  }
}

/** The tensors of a family's checkpoint, in the order HF writes them: name -> [shape, kind]. */
function tensorLayout(
  family: CheckpointFamily,
  cfg: Record<string, unknown>,
): [string, number[], 'embed' | 'norm' | 'proj' | 'bias'][] {
  const n = (k: string) => cfg[k] as number;
  const d = n('hidden_size');
  const f = n('intermediate_size');
  const hd = (cfg.head_dim as number | undefined) ?? d / n('num_attention_heads');
  const q = n('num_attention_heads') * hd;
  const kv = n('num_key_value_heads') * hd;
  const out: [string, number[], 'embed' | 'norm' | 'proj' | 'bias'][] = [
    ['model.embed_tokens.weight', [n('vocab_size'), d], 'embed'],
  ];
  for (let l = 0; l < n('num_hidden_layers'); l++) {
    const p = `model.layers.${l}`;
    out.push([`${p}.input_layernorm.weight`, [d], 'norm']);
    out.push([`${p}.mlp.down_proj.weight`, [d, f], 'proj']);
    out.push([`${p}.mlp.gate_proj.weight`, [f, d], 'proj']);
    out.push([`${p}.mlp.up_proj.weight`, [f, d], 'proj']);
    out.push([`${p}.post_attention_layernorm.weight`, [d], 'norm']);
    const attn: [string, number][] = [
      ['k_proj', kv],
      ['o_proj', d],
      ['q_proj', q],
      ['v_proj', kv],
    ];
    for (const [m, o] of attn) {
      if (family === 'qwen2' && m !== 'o_proj') out.push([`${p}.self_attn.${m}.bias`, [o], 'bias']);
      out.push([`${p}.self_attn.${m}.weight`, [o, m === 'o_proj' ? q : d], 'proj']);
    }
  }
  out.push(['model.norm.weight', [d], 'norm']);
  if (cfg.tie_word_embeddings !== true) out.push(['lm_head.weight', [n('vocab_size'), d], 'embed']);
  return out;
}

/**
 * Random values for one tensor, from its own seed stream: projections U with std 1/sqrt(in) (activations
 * keep their scale, so attention and RoPE matter and greedy choices are decisive), embeddings std 1, norms
 * around 1, biases std 0.5.
 */
function randomValues(name: string, shape: readonly number[], kind: string, seed: number): Float32Array {
  const rng = createRng(deriveSeed(seed, name));
  const size = shape.reduce((a, b) => a * b, 1);
  const std =
    kind === 'proj' ? 1 / Math.sqrt(shape[1] as number) : kind === 'embed' ? 1 : kind === 'bias' ? 0.5 : 0.2;
  const half = Math.sqrt(3) * std; // U(-a, a) has std a / sqrt(3)
  const out = new Float32Array(size);
  const unit = 2 ** 24;
  for (let i = 0; i < size; i++) out[i] = (kind === 'norm' ? 1 : 0) + ((2 * rng.int(unit)) / unit - 1) * half;
  return out;
}

/**
 * Writes a random checkpoint of a family to `dir`: config.json, generation_config.json, the weights,
 * tokenizer.json, tokenizer_config.json and special_tokens_map.json. Returns the config written.
 */
export async function writeRandomCheckpoint(
  dir: string,
  family: CheckpointFamily,
  options: RandomCheckpointOptions = {},
): Promise<Record<string, unknown>> {
  if (!CHECKPOINT_FAMILIES.includes(family))
    throw new OppuError(
      'invalid_argument',
      `writeRandomCheckpoint: family "${family}" is not one of ${CHECKPOINT_FAMILIES.join(', ')}`,
    );
  const published = family === 'llama2' || family === 'tinyllama' ? 'float32' : 'bfloat16';
  const dtype = options.dtype ?? published;
  const shards = options.shards ?? 1;
  if (!Number.isSafeInteger(shards) || shards < 1)
    throw new OppuError(
      'invalid_argument',
      `writeRandomCheckpoint: shards must be a positive integer, got ${shards}`,
    );
  const cfg = familyConfig(family, { ...TINY, ...options.sizes }, dtype);
  const layout = tensorLayout(family, cfg);
  const seed = options.seed ?? 1;
  await mkdir(dir, { recursive: true });

  const perShard = Math.ceil(layout.length / shards);
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (let s = 0; s < shards; s++) {
    const part = layout.slice(s * perShard, (s + 1) * perShard);
    const tensors = new Map<string, HostTensor>();
    for (const [name, shape, kind] of part) {
      tensors.set(name, { dtype, shape, data: randomValues(name, shape, kind, seed) });
      totalSize += shape.reduce((a, b) => a * b, 1) * (dtype === 'float32' ? 4 : 2);
    }
    const file =
      shards === 1
        ? 'model.safetensors'
        : `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    for (const [name] of part) weightMap[name] = file;
    await writeFile(path.join(dir, file), writeSafetensors(tensors, { format: 'pt' }));
  }
  if (shards > 1)
    await writeJson(path.join(dir, 'model.safetensors.index.json'), {
      metadata: { total_size: totalSize },
      weight_map: weightMap,
    });
  await writeJson(path.join(dir, 'config.json'), cfg);
  await writeJson(path.join(dir, 'generation_config.json'), {
    bos_token_id: cfg.bos_token_id,
    eos_token_id: cfg.eos_token_id,
    transformers_version: cfg.transformers_version,
  });
  await writeJson(path.join(dir, 'tokenizer.json'), TOKENIZER.json);
  await writeJson(path.join(dir, 'tokenizer_config.json'), {
    ...TOKENIZER.config,
    model_max_length: cfg.max_position_embeddings,
    tokenizer_class: family === 'qwen2' ? 'Qwen2Tokenizer' : 'LlamaTokenizerFast',
  });
  await writeJson(path.join(dir, 'special_tokens_map.json'), TOKENIZER.config);
  return cfg;
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}
