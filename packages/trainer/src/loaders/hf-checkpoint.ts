import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HostTensor } from '@oppu/core';
import { OppuError, writeFileAtomic } from '@oppu/core';
import type { ModuleName } from '../model/hooks.js';
import type { LlamaArrays, LlamaConfig, LlamaLayerArrays } from '../model/llama.js';
import { headDimOf, PROJECTIONS, projectionShape } from '../model/llama.js';
import { ropeScalingFromHf, ropeScalingToHf } from '../model/rope.js';
import { readSafetensors } from '../safetensors/read.js';
import { writeSafetensors } from '../safetensors/write.js';
import type { LoadedCheckpoint } from './llama2c.js';
import { transpose2d } from './transpose.js';

/**
 * HuggingFace checkpoints of the Llama family: `config.json` plus `model.safetensors` or a sharded
 * `model.safetensors.index.json`. Architectures: `LlamaForCausalLM` (Llama 1/2/3.x, TinyLlama, SmolLM/SmolLM2;
 * rope_scaling linear, dynamic and llama3; attention_bias, mlp_bias; explicit head_dim), `Qwen2ForCausalLM`
 * (Qwen2/Qwen2.5: q/k/v biases) and `MistralForCausalLM` (sliding-window attention). Tensors are [out, in]
 * (`model.layers.N.self_attn.q_proj.weight`) and are transposed to the decoder's [in, out]; fp16/bf16 are
 * widened to fp32 by the safetensors reader. HF's q/k weights are permuted for `rotate_half`, so an HF
 * checkpoint runs with ropeStyle 'half'.
 */

const HF_MODULE_PATH: Record<string, string> = {
  q_proj: 'self_attn.q_proj',
  k_proj: 'self_attn.k_proj',
  v_proj: 'self_attn.v_proj',
  o_proj: 'self_attn.o_proj',
  gate_proj: 'mlp.gate_proj',
  up_proj: 'mlp.up_proj',
  down_proj: 'mlp.down_proj',
};

/** The architectures the loader reads, and the `model_type` each one writes. */
export const HF_ARCHITECTURES = {
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  MistralForCausalLM: 'mistral',
} as const;
export type HfArchitecture = keyof typeof HF_ARCHITECTURES;

const QKV: readonly ModuleName[] = ['q_proj', 'k_proj', 'v_proj'];
const ATTENTION: readonly ModuleName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
const MLP: readonly ModuleName[] = ['gate_proj', 'up_proj', 'down_proj'];

/** The subset of an HF `config.json` the decoder reads. */
export interface HfLlamaConfigJson {
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly num_key_value_heads?: number;
  readonly head_dim?: number;
  readonly vocab_size: number;
  readonly max_position_embeddings: number;
  readonly rms_norm_eps?: number;
  readonly rope_theta?: number;
  readonly rope_scaling?: Record<string, unknown> | null;
  readonly tie_word_embeddings?: boolean;
  readonly sliding_window?: number | null;
  readonly [key: string]: unknown;
}

/** The architecture a config names (`architectures[0]`, else its `model_type`), refused unless supported. */
export function hfArchitecture(json: Record<string, unknown>, file = 'config.json'): HfArchitecture {
  const arch = json.architectures;
  if (Array.isArray(arch) && arch.length > 0) {
    const found = arch.find((a): a is HfArchitecture => typeof a === 'string' && a in HF_ARCHITECTURES);
    if (found) return found;
    throw new OppuError(
      'unsupported_model',
      `${file}: "architectures" ${JSON.stringify(arch)} is not supported (${Object.keys(HF_ARCHITECTURES).join(', ')})`,
    );
  }
  const type = json.model_type ?? 'llama';
  const entry = Object.entries(HF_ARCHITECTURES).find(([, t]) => t === type);
  if (!entry)
    throw new OppuError(
      'unsupported_model',
      `${file}: "model_type" ${JSON.stringify(type)} is not supported (llama, qwen2, mistral)`,
    );
  return entry[0] as HfArchitecture;
}

/** Maps an HF config to the decoder's; refuses features the decoder does not implement, naming the key. */
export function llamaConfigFromHf(json: unknown, file = 'config.json'): LlamaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new OppuError('invalid_model_config', `${file}: is not a JSON object`);
  const j = json as Record<string, unknown>;
  const int = (key: string, fallback?: number): number => {
    const v = j[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)
      throw new OppuError(
        'invalid_model_config',
        `${file}: "${key}" must be a positive integer, got ${JSON.stringify(v)}`,
      );
    return v;
  };
  const num = (key: string, fallback: number): number => {
    const v = j[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0))
      throw new OppuError(
        'invalid_model_config',
        `${file}: "${key}" must be a positive number, got ${JSON.stringify(v)}`,
      );
    return v;
  };
  const unsupported = (key: string, why: string) =>
    new OppuError('unsupported_model', `${file}: "${key}" ${why}`);
  const arch = hfArchitecture(j, file);
  if (j.hidden_act !== undefined && j.hidden_act !== 'silu')
    throw unsupported('hidden_act', `${JSON.stringify(j.hidden_act)} is not supported (silu only)`);
  if (j.partial_rotary_factor !== undefined && j.partial_rotary_factor !== 1)
    throw unsupported(
      'partial_rotary_factor',
      `${String(j.partial_rotary_factor)} is not supported (1 only)`,
    );
  if (j.quantization_config !== undefined && j.quantization_config !== null)
    throw unsupported(
      'quantization_config',
      'is set: quantized checkpoints are not supported (use fp32/fp16/bf16)',
    );
  const ropeScaling = ropeScalingFromHf(j.rope_scaling, file);

  // Biases: Qwen2 has them on q/k/v always; Llama on q/k/v/o with attention_bias, on the MLP with mlp_bias.
  const biases: ModuleName[] = [];
  if (arch === 'Qwen2ForCausalLM') biases.push(...QKV);
  else {
    if (j.attention_bias === true) biases.push(...ATTENTION);
    if (j.mlp_bias === true) {
      if (arch !== 'LlamaForCausalLM') throw unsupported('mlp_bias', `true is not supported for ${arch}`);
      biases.push(...MLP);
    }
  }

  // Sliding window: every Mistral layer; Qwen2 only with use_sliding_window, from layer max_window_layers.
  let slidingWindow: number | undefined;
  if (arch === 'MistralForCausalLM' && j.sliding_window !== undefined && j.sliding_window !== null)
    slidingWindow = int('sliding_window');
  if (arch === 'Qwen2ForCausalLM') {
    const layers = int('num_hidden_layers');
    const slides = Array.isArray(j.layer_types)
      ? j.layer_types.some((t) => t === 'sliding_attention')
      : j.use_sliding_window === true && int('max_window_layers', 0 + layers) < layers;
    if (slides)
      throw unsupported(
        Array.isArray(j.layer_types) ? 'layer_types' : 'use_sliding_window',
        'puts a sliding window on some layers only; not supported',
      );
  }

  const dim = int('hidden_size');
  const heads = int('num_attention_heads');
  const headDim = j.head_dim === undefined || j.head_dim === null ? undefined : int('head_dim');
  return {
    dim,
    hidden: int('intermediate_size'),
    layers: int('num_hidden_layers'),
    heads,
    kvHeads: int('num_key_value_heads', heads),
    vocab: int('vocab_size'),
    maxSeqLen: int('max_position_embeddings'),
    normEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    ropeStyle: 'half',
    tiedEmbeddings: j.tie_word_embeddings === true,
    ...(headDim !== undefined && headDim !== dim / heads ? { headDim } : {}),
    ...(ropeScaling ? { ropeScaling } : {}),
    ...(biases.length > 0 ? { biases } : {}),
    ...(slidingWindow !== undefined ? { slidingWindow } : {}),
  };
}

/** The architecture a decoder config is saved as: a sliding window is Mistral, q/k/v biases alone Qwen2. */
export function hfArchitectureOf(c: LlamaConfig): HfArchitecture {
  if (c.slidingWindow !== undefined) return 'MistralForCausalLM';
  const b = c.biases ?? [];
  if (b.length === 3 && QKV.every((m) => b.includes(m))) return 'Qwen2ForCausalLM';
  return 'LlamaForCausalLM';
}

/** The HF `config.json` for a decoder config (its architecture by `hfArchitectureOf`, float32). */
export function hfConfigFromLlama(
  c: LlamaConfig,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const arch = hfArchitectureOf(c);
  const b = c.biases ?? [];
  if (arch === 'MistralForCausalLM' && b.length > 0)
    throw new OppuError(
      'invalid_model_config',
      'hfConfigFromLlama: a sliding-window model cannot have biases',
    );
  if (arch === 'LlamaForCausalLM' && b.length > 0) {
    const same = (set: readonly ModuleName[]) =>
      set.every((m) => b.includes(m)) || !set.some((m) => b.includes(m));
    if (!same(ATTENTION) || !same(MLP))
      throw new OppuError(
        'invalid_model_config',
        `hfConfigFromLlama: biases [${b}] are not expressible in config.json (all of q/k/v/o, all of gate/up/down, or q/k/v alone)`,
      );
  }
  return {
    architectures: [arch],
    model_type: HF_ARCHITECTURES[arch],
    hidden_act: 'silu',
    hidden_size: c.dim,
    intermediate_size: c.hidden,
    num_hidden_layers: c.layers,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    ...(c.headDim !== undefined ? { head_dim: c.headDim } : {}),
    vocab_size: c.vocab,
    max_position_embeddings: c.maxSeqLen,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    rope_scaling: ropeScalingToHf(c.ropeScaling),
    tie_word_embeddings: c.tiedEmbeddings,
    ...(arch === 'LlamaForCausalLM'
      ? { attention_bias: b.includes('o_proj'), mlp_bias: b.includes('down_proj') }
      : {}),
    ...(arch === 'MistralForCausalLM' ? { sliding_window: c.slidingWindow } : {}),
    ...(arch === 'Qwen2ForCausalLM' ? { use_sliding_window: false } : {}),
    torch_dtype: 'float32',
    ...extra,
  };
}

/** Which safetensors files hold the weights, and which file holds each tensor (absent: single file). */
async function weightFiles(dir: string): Promise<{ files: string[]; where?: Map<string, string> }> {
  const indexPath = path.join(dir, 'model.safetensors.index.json');
  const index = await readJson(indexPath, { optional: true });
  if (index === undefined) return { files: ['model.safetensors'] };
  const map = (index as { weight_map?: unknown }).weight_map;
  if (typeof map !== 'object' || map === null)
    throw new OppuError('invalid_checkpoint', `${indexPath}: has no "weight_map" object`);
  const where = new Map<string, string>();
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || file.includes('/') || file.includes('\\') || file.startsWith('.'))
      throw new OppuError(
        'invalid_checkpoint',
        `${indexPath}: weight_map["${name}"] is not a plain file name`,
      );
    where.set(name, file);
  }
  return { files: [...new Set(where.values())].sort(), where };
}

async function readJson(file: string, opts: { optional?: boolean } = {}): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (opts.optional && (error as { code?: string }).code === 'ENOENT') return undefined;
    throw new OppuError('checkpoint_not_found', `${file}: cannot read (${(error as Error).message})`, {
      cause: error,
    });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new OppuError('invalid_checkpoint', `${file}: is not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
}

/**
 * Loads an HF Llama checkpoint folder. The hash is sha256 over the weight files' bytes, in file-name order.
 */
export async function loadHfCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const config = llamaConfigFromHf(
    await readJson(path.join(dir, 'config.json')),
    path.join(dir, 'config.json'),
  );
  const { files } = await weightFiles(dir);
  const hash = createHash('sha256');
  const tensors = new Map<string, { t: HostTensor; file: string }>();
  for (const name of files) {
    const file = path.join(dir, name);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new OppuError(
        'checkpoint_not_found',
        `${file}: cannot read the weights (${(error as Error).message})`,
        {
          cause: error,
        },
      );
    }
    hash.update(bytes);
    for (const [k, t] of readSafetensors(bytes, { file }).tensors) tensors.set(k, { t, file });
  }
  const where = files.length === 1 ? path.join(dir, files[0] as string) : dir;
  const take = (name: string, shape: readonly number[]): Float32Array => {
    const entry = tensors.get(name);
    if (!entry) throw new OppuError('missing_tensor', `${where}: has no tensor "${name}"`);
    const { t, file } = entry;
    if (!(t.data instanceof Float32Array))
      throw new OppuError(
        'invalid_checkpoint',
        `${file}: tensor "${name}" is ${t.dtype}, expected a float type`,
      );
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
      throw new OppuError(
        'invalid_checkpoint',
        `${file}: tensor "${name}" has shape [${t.shape}], config.json implies [${shape}]`,
      );
    return t.data;
  };
  const c = config;
  const layers: LlamaLayerArrays[] = [];
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}`;
    const proj: Record<string, Float32Array> = {};
    const bias: Partial<Record<ModuleName, Float32Array>> = {};
    for (const m of PROJECTIONS) {
      const [inF, outF] = projectionShape(c, m);
      proj[m] = transpose2d(take(`${p}.${HF_MODULE_PATH[m]}.weight`, [outF, inF]), outF, inF);
      if (c.biases?.includes(m)) bias[m] = take(`${p}.${HF_MODULE_PATH[m]}.bias`, [outF]);
    }
    layers.push({
      attnNorm: take(`${p}.input_layernorm.weight`, [c.dim]),
      ffnNorm: take(`${p}.post_attention_layernorm.weight`, [c.dim]),
      ...(proj as Pick<LlamaLayerArrays, (typeof PROJECTIONS)[number]>),
      ...(c.biases ? { bias } : {}),
    });
  }
  const embed = take('model.embed_tokens.weight', [c.vocab, c.dim]);
  const hasHead = tensors.has('lm_head.weight');
  const tied = c.tiedEmbeddings || !hasHead;
  const weights: LlamaArrays = {
    embed,
    layers,
    norm: take('model.norm.weight', [c.dim]),
    ...(tied ? {} : { lmHead: transpose2d(take('lm_head.weight', [c.vocab, c.dim]), c.vocab, c.dim) }),
  };
  return { config: { ...c, tiedEmbeddings: tied }, weights, hash: hash.digest('hex'), source: dir };
}

export interface SaveHfOptions {
  /** Stored dtype of the weights; default float32. */
  readonly dtype?: 'float32' | 'float16' | 'bfloat16';
  /** Extra `config.json` fields (e.g. bos_token_id, eos_token_id, _name_or_path). */
  readonly configExtra?: Record<string, unknown>;
}

/**
 * Writes a decoder as an HF Llama checkpoint (`config.json` + `model.safetensors`, atomically). A model in
 * llama2.c's interleaved RoPE convention has its q/k rows permuted to `rotate_half` order, as HF's
 * conversion script does, so the saved checkpoint loads (ropeStyle 'half') to the same function.
 * Returns the sha256 of the written weights file (the hash `loadHfCheckpoint` will report).
 */
export async function saveHfCheckpoint(
  dir: string,
  config: LlamaConfig,
  weights: LlamaArrays,
  options: SaveHfOptions = {},
): Promise<string> {
  const c = config;
  const dtype = options.dtype ?? 'float32';
  const hd = headDimOf(c);
  const tensors = new Map<string, HostTensor>();
  const put = (name: string, shape: number[], data: Float32Array) =>
    tensors.set(name, { dtype, shape, data });
  put('model.embed_tokens.weight', [c.vocab, c.dim], weights.embed);
  if (weights.layers.length !== c.layers)
    throw new OppuError(
      'invalid_model_weights',
      `saveHfCheckpoint: ${weights.layers.length} layers, config says ${c.layers}`,
    );
  weights.layers.forEach((layer, l) => {
    const p = `model.layers.${l}`;
    put(`${p}.input_layernorm.weight`, [c.dim], layer.attnNorm);
    put(`${p}.post_attention_layernorm.weight`, [c.dim], layer.ffnNorm);
    for (const m of PROJECTIONS) {
      const [inF, outF] = projectionShape(c, m);
      let w = transpose2d(layer[m], inF, outF); // [out, in]
      if (c.ropeStyle === 'interleaved' && (m === 'q_proj' || m === 'k_proj'))
        w = interleavedToHalfRows(w, m === 'q_proj' ? c.heads : c.kvHeads, hd, inF);
      put(`${p}.${HF_MODULE_PATH[m]}.weight`, [outF, inF], w);
      const bias = layer.bias?.[m];
      if (c.biases?.includes(m)) {
        if (!bias)
          throw new OppuError('invalid_model_weights', `saveHfCheckpoint: layer ${l} has no ${m} bias`);
        // A bias follows its rows: permuted with them for an interleaved-RoPE q/k.
        const rows =
          c.ropeStyle === 'interleaved' && (m === 'q_proj' || m === 'k_proj')
            ? interleavedToHalfRows(bias, m === 'q_proj' ? c.heads : c.kvHeads, hd, 1)
            : bias;
        put(`${p}.${HF_MODULE_PATH[m]}.bias`, [outF], rows);
      }
    }
  });
  put('model.norm.weight', [c.dim], weights.norm);
  if (!c.tiedEmbeddings) {
    if (!weights.lmHead)
      throw new OppuError('invalid_model_weights', 'saveHfCheckpoint: untied config but no lmHead');
    put('lm_head.weight', [c.vocab, c.dim], transpose2d(weights.lmHead, c.dim, c.vocab));
  }
  const bytes = writeSafetensors(tensors, { format: 'pt' });
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, 'model.safetensors'), bytes);
  const hfConfig = hfConfigFromLlama(c, { torch_dtype: dtype, ...options.configExtra });
  await writeFileAtomic(path.join(dir, 'config.json'), `${JSON.stringify(hfConfig, null, 2)}\n`);
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Reorders the output rows of a q/k weight [heads*hd, in] from pairs (2i, 2i+1) to halves (i, i + hd/2) in
 * each head: HF's `permute(w, n_heads)` in convert_llama_weights_to_hf.py.
 */
export function interleavedToHalfRows(w: Float32Array, heads: number, hd: number, inF: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = hd / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let c = 0; c < 2; c++) {
        const from = (h * hd + 2 * i + c) * inF;
        const to = (h * hd + c * half + i) * inF;
        out.set(w.subarray(from, from + inF), to);
      }
    }
  }
  return out;
}
