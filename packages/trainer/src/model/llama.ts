import { createRng, OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { causalAttention } from '../kernels/attention.js';
import { embedding } from '../kernels/embedding.js';
import { frozenLinear } from '../kernels/frozen-linear.js';
import { causalSoftmax, rmsNorm, rope, swiglu } from '../kernels/fused-ops.js';
import { nativeKernels } from '../kernels/native.js';
import { gain, trainableLinear } from '../kernels/trainable.js';
import { activeWasmBackend, allocate, floatOffset, heapView } from '../kernels/wasm-heap.js';
import type { PeftModelDims } from '../peft/model-dims.js';
import type { BaseWeights, LinearAdapter, LowRankDelta, ModuleContext, ModuleName } from './hooks.js';
import { headsFirst, type KVCache, KVCacheWriter } from './kv-cache.js';
import { type RopeScaling, ropeAngleTables, ropeInvFreq } from './rope.js';

export { KVCache } from './kv-cache.js';

/**
 * A Llama-family decoder in one file, in the spirit of llama2.c and nanoGPT, top to bottom: the config, the
 * weights, the model (embedding, then per layer an attention block and an MLP block, then the head), and the
 * building blocks (RoPE tables, positions and the attention mask). The KV cache is in kv-cache.ts, decoding
 * (sampling, batching) in ../generate.
 *
 * Conventions: every projection weight is stored [in, out] (y = x·W) as a non-trainable tf.Variable and
 * applied by `frozenLinear` (the kernel that computes no weight gradient), always through the adapter seam
 * `adapter.linear(ctx, x, base)` when an adapter is given. In trainable mode (`{ trainable: true }`, for
 * pretraining the base: one class trains and samples, as nanoGPT's GPT) the weights are trainable variables
 * and every op passes gradients to them (`trainableLinear`, the norms' `gain`, the tied head through the
 * embedding itself). Shapes use b = batch, t = new tokens, T = all keys
 * (cache + new), h = heads, kvh = kv heads, g = h / kvh, hd = head size, d = dim, f = hidden (ffn) size.
 *
 * The element-wise steps are the fused kernels of src/kernels (`embedding`, `rmsNorm`, `rope`, `swiglu`,
 * `causalSoftmax`, and `causalAttention` for a pass with neither cache nor padding): one native pass each way
 * on wasm with the addon, their plain-tf formula elsewhere.
 */

// ----------------------------------------------------------------------------------------------------------
// Config

export interface LlamaConfig {
  /** Model width d. */
  readonly dim: number;
  /** SwiGLU hidden size f. */
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  /** Key/value heads (grouped-query attention); `heads` must be a multiple. */
  readonly kvHeads: number;
  readonly vocab: number;
  readonly maxSeqLen: number;
  readonly normEps: number;
  readonly ropeTheta: number;
  /** 'interleaved': llama2.c rotates pairs (2i, 2i+1); 'half': HF `rotate_half` pairs (i, i + hd/2). */
  readonly ropeStyle: 'interleaved' | 'half';
  /** The output head is the token embedding (transposed). */
  readonly tiedEmbeddings: boolean;
  /** Head size hd when it is not dim / heads (Mistral Nemo, some Qwen/Llama variants). */
  readonly headDim?: number;
  /** RoPE frequency scaling (Llama 3.x 'llama3', 'linear', 'dynamic'); absent: plain theta^(-2j/hd). */
  readonly ropeScaling?: RopeScaling;
  /** Projections with a bias (Qwen2: q/k/v; Llama attention_bias: q/k/v/o, mlp_bias: gate/up/down). */
  readonly biases?: readonly ModuleName[];
  /** Each query sees itself and the `slidingWindow - 1` positions before it at most (Mistral). */
  readonly slidingWindow?: number;
}

export function checkLlamaConfig(c: LlamaConfig, where = 'llama config'): LlamaConfig {
  for (const k of ['dim', 'hidden', 'layers', 'heads', 'kvHeads', 'vocab', 'maxSeqLen'] as const) {
    if (!Number.isSafeInteger(c[k]) || c[k] <= 0)
      throw new OppuError('invalid_model_config', `${where}: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.headDim === undefined && c.dim % c.heads !== 0)
    throw new OppuError(
      'invalid_model_config',
      `${where}: dim ${c.dim} is not a multiple of heads ${c.heads}`,
    );
  if (c.heads % c.kvHeads !== 0)
    throw new OppuError(
      'invalid_model_config',
      `${where}: heads ${c.heads} is not a multiple of kvHeads ${c.kvHeads}`,
    );
  if (c.headDim !== undefined && !(Number.isSafeInteger(c.headDim) && c.headDim > 0))
    throw new OppuError(
      'invalid_model_config',
      `${where}: headDim must be a positive integer, got ${c.headDim}`,
    );
  if (headDimOf(c) % 2 !== 0)
    throw new OppuError('invalid_model_config', `${where}: head size ${headDimOf(c)} must be even for RoPE`);
  if (c.slidingWindow !== undefined && !(Number.isSafeInteger(c.slidingWindow) && c.slidingWindow > 0))
    throw new OppuError(
      'invalid_model_config',
      `${where}: slidingWindow must be a positive integer, got ${c.slidingWindow}`,
    );
  for (const m of c.biases ?? [])
    if (!PROJECTIONS.includes(m))
      throw new OppuError('invalid_model_config', `${where}: biases: "${m}" is not a projection`);
  if (!(c.normEps > 0) || !(c.ropeTheta > 0))
    throw new OppuError('invalid_model_config', `${where}: normEps and ropeTheta must be positive`);
  if (c.ropeStyle !== 'interleaved' && c.ropeStyle !== 'half')
    throw new OppuError('invalid_model_config', `${where}: ropeStyle must be "interleaved" or "half"`);
  return c;
}

/** The size of one attention head, hd. */
export function headDimOf(c: LlamaConfig): number {
  return c.headDim ?? c.dim / c.heads;
}

// ----------------------------------------------------------------------------------------------------------
// Weights (host form: what loaders produce and writers consume; all row-major float32)

/** One block's weights; projections are [in, out]. */
export interface LlamaLayerArrays {
  readonly attnNorm: Float32Array; // [d]
  readonly q_proj: Float32Array; // [d, h*hd]
  readonly k_proj: Float32Array; // [d, kvh*hd]
  readonly v_proj: Float32Array; // [d, kvh*hd]
  readonly o_proj: Float32Array; // [h*hd, d]
  readonly ffnNorm: Float32Array; // [d]
  readonly gate_proj: Float32Array; // [d, f]   (llama2.c w1)
  readonly up_proj: Float32Array; // [d, f]     (llama2.c w3)
  readonly down_proj: Float32Array; // [f, d]   (llama2.c w2)
  /** The biases [out] of the projections the config's `biases` names. */
  readonly bias?: Partial<Record<ModuleName, Float32Array>>;
}

export interface LlamaArrays {
  readonly embed: Float32Array; // [vocab, d]
  readonly layers: readonly LlamaLayerArrays[];
  readonly norm: Float32Array; // [d]
  /** [d, vocab]; absent when the embeddings are tied. */
  readonly lmHead?: Float32Array;
}

export const PROJECTIONS: readonly ModuleName[] = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
];

/** [in, out] of a projection. */
export function projectionShape(c: LlamaConfig, module: ModuleName): [number, number] {
  const hd = headDimOf(c);
  switch (module) {
    case 'q_proj':
      return [c.dim, c.heads * hd];
    case 'k_proj':
    case 'v_proj':
      return [c.dim, c.kvHeads * hd];
    case 'o_proj':
      return [c.heads * hd, c.dim];
    case 'gate_proj':
    case 'up_proj':
      return [c.dim, c.hidden];
    case 'down_proj':
      return [c.hidden, c.dim];
  }
}

/** Random weights (N(0, 0.02), norms 1): tiny models for tests and benchmarks. */
export function randomLlamaArrays(c: LlamaConfig, seed = 1): LlamaArrays {
  // The one seeded generator (core's mulberry32), then Box-Muller: reproducible without tf. 1 - next() is in
  // (0, 1], so the logarithm is finite.
  const rng = createRng(seed);
  const rand = () => 1 - rng.next();
  const normal = (n: number, std: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++)
      a[i] = std * Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
    return a;
  };
  const proj = (m: ModuleName) => {
    const [i, o] = projectionShape(c, m);
    return normal(i * o, 0.02);
  };
  const layers = Array.from({ length: c.layers }, () => ({
    attnNorm: new Float32Array(c.dim).fill(1),
    q_proj: proj('q_proj'),
    k_proj: proj('k_proj'),
    v_proj: proj('v_proj'),
    o_proj: proj('o_proj'),
    ffnNorm: new Float32Array(c.dim).fill(1),
    gate_proj: proj('gate_proj'),
    up_proj: proj('up_proj'),
    down_proj: proj('down_proj'),
  }));
  return {
    embed: normal(c.vocab * c.dim, 0.02),
    layers,
    norm: new Float32Array(c.dim).fill(1),
    ...(c.tiedEmbeddings ? {} : { lmHead: normal(c.dim * c.vocab, 0.02) }),
  };
}

/** Checks that every array has the size the config implies (and that an untied head is present). */
export function checkLlamaArrays(c: LlamaConfig, w: LlamaArrays): void {
  if (w.layers.length !== c.layers)
    throw new OppuError(
      'invalid_model_weights',
      `llama weights: ${w.layers.length} layers, config says ${c.layers}`,
    );
  checkLength(w.embed, c.vocab * c.dim, 'embed');
  checkLength(w.norm, c.dim, 'norm');
  w.layers.forEach((l, i) => {
    checkLength(l.attnNorm, c.dim, `layers.${i}.attnNorm`);
    checkLength(l.ffnNorm, c.dim, `layers.${i}.ffnNorm`);
    for (const m of PROJECTIONS) {
      const [inF, outF] = projectionShape(c, m);
      checkLength(l[m], inF * outF, `layers.${i}.${m}`);
    }
    for (const m of c.biases ?? []) {
      const bias = l.bias?.[m];
      if (!bias) throw new OppuError('invalid_model_weights', `llama weights: layers.${i} has no ${m} bias`);
      checkLength(bias, projectionShape(c, m)[1], `layers.${i}.bias.${m}`);
    }
  });
  if (!c.tiedEmbeddings) {
    if (!w.lmHead)
      throw new OppuError('invalid_model_weights', 'llama weights: untied embeddings but no lmHead given');
    checkLength(w.lmHead, c.dim * c.vocab, 'lmHead');
  }
}

interface LayerTensors {
  readonly attnNorm: tf.Variable<tf.Rank.R1>;
  readonly ffnNorm: tf.Variable<tf.Rank.R1>;
  readonly proj: Record<ModuleName, tf.Variable<tf.Rank.R2>>;
  readonly bias: Partial<Record<ModuleName, tf.Variable<tf.Rank.R1>>>; // [out], for config.biases
}

export interface ForwardOptions {
  /** PEFT hooks: every projection goes through `adapter.linear`, a soft prompt through `prefixEmbeddings`. */
  readonly adapter?: LinearAdapter;
  /** Filled on the first call and extended on each next one (then `ids` holds only the new tokens). */
  readonly cache?: KVCache;
  /**
   * [b, past + t], 1 for a real token and 0 for padding, over every token position so far (cache and new,
   * soft prompt excluded). Pads are never attended to and take no position: positions count real tokens only,
   * so a left-padded row gets the same positions as the same prompt unpadded. Default: all ones. Host rows
   * (number[][]) avoid a device read-back.
   */
  readonly attentionMask?: tf.Tensor2D | readonly (readonly number[])[];
  /**
   * Compute logits for the last `logitsToKeep` positions only (HF's `logits_to_keep`): decoding needs just
   * the last one, and the output head is the largest matrix of a small model. Default: every position.
   */
  readonly logitsToKeep?: number;
}

/** What every layer of one forward call shares. t = the call's new positions (soft prompt included). */
interface Pass {
  readonly b: number;
  readonly t: number;
  /** RoPE angles at each new position: [b*t, hd/2]. */
  readonly cos: tf.Tensor2D;
  readonly sin: tf.Tensor2D;
  /**
   * Additive attention bias [b, 1, t, keys], 0 where a query may see a key and -1e9 where not; null for plain
   * causal attention (no cache, no padding: one fused kernel).
   */
  readonly bias: tf.Tensor4D | null;
  /** Writes this call's keys and values into the cache, when there is one. */
  readonly kv: KVCacheWriter | undefined;
  readonly adapter: LinearAdapter | undefined;
  /** The first layer's q/k/v read frozen weights only (no soft prompt in front): no input gradient needed. */
  readonly constantInput: boolean;
}

export interface LlamaModelOptions {
  /** Base weights as trainable variables that gradients reach (pretraining). Default false: frozen (PEFT). */
  readonly trainable?: boolean;
}

// ----------------------------------------------------------------------------------------------------------
// The model

const MASKED = -1e9;

export class LlamaModel implements BaseWeights {
  readonly config: LlamaConfig;
  private readonly embed: tf.Variable<tf.Rank.R2>; // [vocab, d]
  private readonly blocks: LayerTensors[];
  private readonly norm: tf.Variable<tf.Rank.R1>; // [d]
  /** [d, vocab]: a transposed copy of embed when tied and frozen; null when tied and trainable (embed is used). */
  private readonly head: tf.Variable<tf.Rank.R2> | null;
  readonly trainable: boolean;
  private readonly unit: tf.Tensor1D | null; // [d] ones: the fused norm's weight when the gain is trainable
  private readonly ropeCos: Float32Array; // [maxSeqLen, hd/2] on the host: cos of pair j's angle at each position
  private readonly ropeSin: Float32Array; // [maxSeqLen, hd/2]
  private disposed = false;

  constructor(config: LlamaConfig, weights: LlamaArrays, options: LlamaModelOptions = {}) {
    const c = checkLlamaConfig(config);
    checkLlamaArrays(c, weights); // before any tensor exists, so a bad input leaks nothing
    this.config = c;
    const trainable = options.trainable ?? false;
    this.trainable = trainable;
    // Inside tidy: the initial-value tensor is freed, the variable (shared data) stays.
    const v1 = (a: Float32Array, n: number, name: string) =>
      tf.tidy(() => tf.variable(tf.tensor1d(checkLength(a, n, name)), trainable)) as tf.Variable<tf.Rank.R1>;
    const v2 = (a: Float32Array, r: number, k: number, name: string) =>
      tf.tidy(() =>
        tf.variable(tf.tensor2d(checkLength(a, r * k, name), [r, k]), trainable),
      ) as tf.Variable<tf.Rank.R2>;
    this.embed = v2(weights.embed, c.vocab, c.dim, 'embed');
    this.blocks = weights.layers.map((l, i) => ({
      attnNorm: v1(l.attnNorm, c.dim, `layers.${i}.attnNorm`),
      ffnNorm: v1(l.ffnNorm, c.dim, `layers.${i}.ffnNorm`),
      proj: Object.fromEntries(
        PROJECTIONS.map((m) => {
          const [inF, outF] = projectionShape(c, m);
          return [m, v2(l[m], inF, outF, `layers.${i}.${m}`)];
        }),
      ) as Record<ModuleName, tf.Variable<tf.Rank.R2>>,
      bias: Object.fromEntries(
        (c.biases ?? []).map((m) => [
          m,
          v1(l.bias?.[m] as Float32Array, projectionShape(c, m)[1], `layers.${i}.bias.${m}`),
        ]),
      ),
    }));
    this.norm = v1(weights.norm, c.dim, 'norm');
    this.head = !c.tiedEmbeddings
      ? v2(weights.lmHead as Float32Array, c.dim, c.vocab, 'lmHead') // present: checkLlamaArrays
      : trainable
        ? null
        : (tf.tidy(() => tf.variable(tf.transpose(this.embed), false)) as tf.Variable<tf.Rank.R2>);
    this.unit = trainable ? tf.ones([c.dim]) : null;
    const tables = ropeTables(c);
    this.ropeCos = tables.cos;
    this.ropeSin = tables.sin;
  }

  /** The sizes PEFT methods and the trainer need (HF names). */
  get dims(): PeftModelDims & { readonly vocabSize: number } {
    const c = this.config;
    return {
      numLayers: c.layers,
      hiddenSize: c.dim,
      intermediateSize: c.hidden,
      numAttentionHeads: c.heads,
      numKeyValueHeads: c.kvHeads,
      headDim: headDimOf(c),
      vocabSize: c.vocab,
    };
  }

  /** Number of weights (the tied head counted once). */
  get numParameters(): number {
    const c = this.config;
    let n = c.vocab * c.dim + c.dim + (c.tiedEmbeddings ? 0 : c.dim * c.vocab);
    for (const m of PROJECTIONS) {
      const [i, o] = projectionShape(c, m);
      n += (i * o + (c.biases?.includes(m) ? o : 0)) * c.layers;
    }
    return n + 2 * c.dim * c.layers;
  }

  /**
   * Every weight under its HF name (`model.layers.0.self_attn.q_proj.weight`, ...), in HF order, each in this
   * model's [in, out] layout (HF stores projections [out, in]). A tied head is the embedding, listed once.
   * What an optimizer of the base (trainable mode) and a checkpoint writer read; do not dispose.
   */
  namedVariables(): Map<string, tf.Variable> {
    this.checkAlive();
    const out = new Map<string, tf.Variable>([['model.embed_tokens.weight', this.embed]]);
    this.blocks.forEach((blk, i) => {
      const p = `model.layers.${i}`;
      out.set(`${p}.input_layernorm.weight`, blk.attnNorm);
      for (const m of ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const) {
        out.set(`${p}.self_attn.${m}.weight`, blk.proj[m]);
        const bias = blk.bias[m];
        if (bias) out.set(`${p}.self_attn.${m}.bias`, bias);
      }
      out.set(`${p}.post_attention_layernorm.weight`, blk.ffnNorm);
      for (const m of ['gate_proj', 'up_proj', 'down_proj'] as const) {
        out.set(`${p}.mlp.${m}.weight`, blk.proj[m]);
        const bias = blk.bias[m];
        if (bias) out.set(`${p}.mlp.${m}.bias`, bias);
      }
    });
    out.set('model.norm.weight', this.norm);
    if (!this.config.tiedEmbeddings && this.head) out.set('lm_head.weight', this.head);
    return out;
  }

  // ---- Forward

  /**
   * ids [b, t] (int32) -> logits [b, p + t, vocab], p = the adapter's soft-prompt length on a first call
   * (0 otherwise); [b, n, vocab] for the last n positions with `logitsToKeep: n`. The second argument is
   * the options, or an adapter alone (the trainer's `forward(ids, adapter)`). Returns a new tensor (the
   * caller disposes it); everything else is freed here.
   */
  forward(ids: tf.Tensor2D, options: ForwardOptions | LinearAdapter = {}): tf.Tensor3D {
    this.checkAlive();
    const opts: ForwardOptions = isAdapter(options) ? { adapter: options } : options;
    const { adapter, cache } = opts;
    const c = this.config;
    const [b, t] = ids.shape;
    if (ids.dtype !== 'int32')
      throw new OppuError(
        'invalid_input',
        `llama: token ids are ${ids.dtype}, expected int32 (tf.tensor2d(ids, [b, t], 'int32'))`,
      );
    if (
      opts.logitsToKeep !== undefined &&
      !(Number.isSafeInteger(opts.logitsToKeep) && opts.logitsToKeep >= 1)
    )
      throw new OppuError(
        'invalid_argument',
        `llama: logitsToKeep must be a positive integer, got ${opts.logitsToKeep}`,
      );
    const fused = this.fusedDecodeStep(ids, opts);
    if (fused) return fused;
    const past = cache?.length ?? 0;
    const firstCall = past === 0;
    // Positions and masks are small: built on the host.
    const maskRows = readMask(opts.attentionMask, b, (cache ? past - cache.prefixLength : 0) + t);
    // On wasm the cache is written in place; the buffers this call makes (new, or grown) are freed on error.
    const kv = cache ? new KVCacheWriter(cache, c.maxSeqLen) : undefined;
    let prefix = cache && !firstCall ? cache.prefixLength : 0;
    let tNew = t; // p + t on a first call with a soft prompt
    let logits: tf.Tensor3D;
    try {
      logits = tf.tidy(() => {
        const soft = firstCall ? adapter?.prefixEmbeddings?.(b) : undefined;
        let x = this.embedTokens(ids, soft); // [b, tNew, d]
        if (soft) prefix = soft.shape[1];
        tNew = x.shape[1];
        const pass = this.preparePass(maskRows, b, tNew, past, prefix, kv, adapter, !soft);
        // Without a gradient tape (inference) each layer's intermediates are freed when the layer is done, so
        // a long prefill holds one layer's attention scores at a time; training keeps what backprop needs.
        const recording = (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
        for (let l = 0; l < c.layers; l++) {
          const xl = x;
          x = recording ? this.block(l, xl, pass) : tf.tidy(() => this.block(l, xl, pass));
        }
        return this.logitsHead(x, opts.logitsToKeep ?? tNew); // [b, keep, vocab]
      });
    } catch (error) {
      kv?.discard(); // kept for the cache before the failure
      throw error;
    }
    kv?.commit(past + tNew, prefix);
    return logits;
  }

  /**
   * Batch-1 decoding of one token through every layer in one native call (native/src/decode.cc), when the
   * step is a plain one: one row, one new token, a KV cache in wasm memory without a soft prompt, no padding,
   * no adapter or a LoRA one (`LinearAdapter.lowRank`), frozen weights, no gradient tape. It runs the same GEMM
   * and row kernels as the graph below, op for op, without the graph's ~48 kernel dispatches per layer; only
   * the attention's sums run in another order. Returns null when the step is not such a one (the graph runs),
   * or with `OPPU_FUSED_DECODE=0`.
   */
  private fusedDecodeStep(ids: tf.Tensor2D, opts: ForwardOptions): tf.Tensor3D | null {
    const { cache } = opts;
    const c = this.config;
    if (!cache || this.trainable || ids.shape[0] !== 1 || ids.shape[1] !== 1) return null;
    if (cache.prefixLength !== 0 || cache.length + 1 > c.maxSeqLen) return null;
    if (process.env.OPPU_FUSED_DECODE === '0') return null;
    const native = nativeKernels();
    const wasm = activeWasmBackend();
    if (!native?.decodeStep || !wasm) return null;
    if ((tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0) return null;
    if (opts.attentionMask !== undefined) {
      const [row] = readMask(opts.attentionMask, 1, cache.length + 1);
      if (!row!.every((v) => v === 1)) return null;
    }
    // An adapter takes part only as LoRA pairs (at inference); anything else (IA3, a soft prompt) runs the graph.
    const { adapter } = opts;
    const lora: (LowRankDelta | null)[] = [];
    if (adapter) {
      if (!adapter.lowRank || adapter.prefixEmbeddings) return null;
      for (let l = 0; l < c.layers; l++) {
        for (const module of PROJECTIONS) {
          const delta = adapter.lowRank({ layer: l, module });
          if (delta === undefined) return null;
          if (delta && (delta.a.dtype !== 'float32' || delta.b.dtype !== 'float32')) return null;
          lora.push(delta);
        }
      }
    }
    const decodeStep = native.decodeStep.bind(native);
    const past = cache.length;
    const kv = new KVCacheWriter(cache, c.maxSeqLen);
    const capacity = kv.reserve(past + 1);
    const hd = headDimOf(c);
    const half = hd / 2;
    let logits: tf.Tensor3D;
    try {
      logits = tf.tidy(() => {
        const id = ids.dataSync()[0] as number;
        if (!(id >= 0 && id < c.vocab))
          throw new OppuError(
            'invalid_input',
            `llama: token id ${id} is outside the vocabulary [0, ${c.vocab})`,
          );
        const x = allocate(wasm, [1, 1, c.dim]) as tf.Tensor3D;
        const layers = this.blocks.map((_, l) => kv.writeInPlace(l, 1, c.kvHeads, hd));
        const heap = heapView(wasm); // after every allocation: memory may have grown
        const off = (t: tf.Tensor) => floatOffset(wasm, t);
        const embedOff = off(this.embed) + id * c.dim;
        heap.copyWithin(off(x), embedOff, embedOff + c.dim);
        const stride = 18 + 4 * PROJECTIONS.length;
        const params = new Float64Array(13 + stride * c.layers);
        params.set([
          off(x),
          c.dim,
          c.heads,
          c.kvHeads,
          hd,
          c.hidden,
          capacity,
          past,
          c.slidingWindow ?? -1,
          c.normEps,
          1 / Math.sqrt(hd),
          c.ropeStyle === 'interleaved' ? 1 : 0,
          c.layers,
        ]);
        this.blocks.forEach((blk, l) => {
          const b = (m: ModuleName) => (blk.bias[m] ? off(blk.bias[m]) : -1);
          const kvl = layers[l] as { k: tf.Tensor; v: tf.Tensor };
          params.set(
            [
              off(blk.attnNorm),
              off(blk.proj.q_proj),
              off(blk.proj.k_proj),
              off(blk.proj.v_proj),
              off(blk.proj.o_proj),
              b('q_proj'),
              b('k_proj'),
              b('v_proj'),
              b('o_proj'),
              off(blk.ffnNorm),
              off(blk.proj.gate_proj),
              off(blk.proj.up_proj),
              off(blk.proj.down_proj),
              b('gate_proj'),
              b('up_proj'),
              b('down_proj'),
              off(kvl.k),
              off(kvl.v),
              ...PROJECTIONS.flatMap((_, m) => {
                const d = lora[l * PROJECTIONS.length + m];
                return d ? [off(d.a), off(d.b), d.a.shape[1], d.scale] : [-1, -1, 0, 0];
              }),
            ],
            13 + stride * l,
          );
        });
        const row = past * half;
        decodeStep(
          heap,
          params,
          this.ropeCos.subarray(row, row + half),
          this.ropeSin.subarray(row, row + half),
        );
        return this.logitsHead(x, 1);
      });
    } catch (error) {
      kv.discard();
      throw error;
    }
    kv.commit(past + 1, 0);
    return logits;
  }

  /** Token embeddings, with the soft prompt (if any) in front: ids [b, t] -> [b, p + t, d]. */
  private embedTokens(ids: tf.Tensor2D, soft: tf.Tensor3D | undefined): tf.Tensor3D {
    const [b] = ids.shape;
    const x = embedding(this.embed, ids) as tf.Tensor3D; // [b, t, d]
    if (!soft) return x;
    if (soft.shape[0] !== b || soft.shape[2] !== this.config.dim)
      throw new OppuError(
        'invalid_adapter',
        `prefixEmbeddings gave [${soft.shape}], expected [${b}, n, ${this.config.dim}]`,
      );
    return tf.concat([soft, x], 1); // [b, p + t, d]
  }

  /** Positions, RoPE angles and the attention bias of one call's t new positions (after `past` cached ones). */
  private preparePass(
    maskRows: Uint8Array[],
    b: number,
    t: number,
    past: number,
    prefix: number,
    kv: KVCacheWriter | undefined,
    adapter: LinearAdapter | undefined,
    noSoftPrompt: boolean,
  ): Pass {
    const c = this.config;
    const T = past + t;
    if (T > c.maxSeqLen)
      throw new OppuError('sequence_too_long', `llama: ${T} positions exceed maxSeqLen ${c.maxSeqLen}`);
    // Keys attended to: the cache's capacity when it is written in place (unused positions masked), else T.
    const keys = kv ? kv.reserve(T) : T;
    const { positions, bias } = positionsAndBias(
      maskRows,
      b,
      prefix,
      past,
      t,
      c.maxSeqLen,
      keys,
      c.slidingWindow,
    );
    const half = headDimOf(c) / 2;
    return {
      b,
      t,
      cos: tf.tensor2d(hostRows(this.ropeCos, positions, half), [b * t, half]),
      sin: tf.tensor2d(hostRows(this.ropeSin, positions, half), [b * t, half]),
      bias: bias && tf.tensor4d(bias, [b, 1, t, keys]),
      kv,
      adapter,
      // The first layer's attention input is made of frozen weights only (frozen embeddings and norm).
      constantInput: noSoftPrompt && !this.embed.trainable && !(this.blocks[0]?.attnNorm.trainable ?? true),
    };
  }

  /** One pre-norm decoder block: x + attention(norm(x)), then + mlp(norm(x)). x [b, t, d] -> [b, t, d]. */
  private block(layer: number, x: tf.Tensor3D, pass: Pass): tf.Tensor3D {
    const blk = this.blocks[layer] as LayerTensors;
    const h = tf.add(x, this.attention(layer, this.normalize(x, blk.attnNorm), pass)) as tf.Tensor3D; // [b, t, d]
    return tf.add(h, this.mlp(layer, this.normalize(h, blk.ffnNorm), pass));
  }

  /**
   * Grouped-query self-attention with RoPE: xn [b, t, d] -> [b, t, d] (o_proj's output). Every query head
   * reads kv head `head / g`; with a cache the keys are the cached positions followed by the new ones.
   */
  private attention(layer: number, xn: tf.Tensor3D, pass: Pass): tf.Tensor3D {
    const c = this.config;
    const { b, t, cos, sin, bias, kv } = pass;
    const hd = headDimOf(c);
    const g = c.heads / c.kvHeads;
    const scale = 1 / Math.sqrt(hd);
    const q0 = tf.reshape(this.project(layer, 'q_proj', xn, pass), [b * t, c.heads, hd]) as tf.Tensor3D;
    const k0 = tf.reshape(this.project(layer, 'k_proj', xn, pass), [b * t, c.kvHeads, hd]) as tf.Tensor3D;
    const v = tf.reshape(this.project(layer, 'v_proj', xn, pass), [b, t, c.kvHeads, hd]) as tf.Tensor4D;
    const q = rope(q0, cos, sin, c.ropeStyle); // [b*t, h, hd]
    const k = tf.reshape(rope(k0, cos, sin, c.ropeStyle), [b, t, c.kvHeads, hd]) as tf.Tensor4D;
    if (!kv && !bias) {
      // Training / plain prefill: one fused causal-attention op on the [b, t, heads, hd] layout.
      const att = causalAttention(tf.reshape(q, [b, t, c.heads, hd]) as tf.Tensor4D, k, v, scale);
      return this.project(layer, 'o_proj', tf.reshape(att, [b, t, c.heads * hd]) as tf.Tensor3D, pass);
    }
    // Keys and values of every position attended to: [b, kvh, keys, hd] (keys = cache capacity, or t).
    const { k: kh, v: vh } = kv ? kv.append(layer, k, v) : { k: headsFirst(k), v: headsFirst(v) };
    const keys = kh.shape[2];
    // Grouped-query attention without repeating k/v: the g query heads of one kv head form one matrix.
    // (One new token, as when decoding: [b, 1, h, hd] and [b, h, 1, hd] are the same layout, no transpose.)
    const qt = t === 1 ? q : headsFirst(tf.reshape(q, [b, t, c.heads, hd]) as tf.Tensor4D);
    const qh = tf.reshape(qt, [b, c.kvHeads, g * t, hd]); // [b, kvh, g*t, hd]
    const scores = tf.reshape(tf.matMul(qh, kh, false, true), [b, c.heads, t, keys]); // [b, h, t, keys]
    const weights = bias ? tf.softmax(tf.add(tf.mul(scores, scale), bias)) : causalSoftmax(scores, scale);
    const probs = tf.reshape(weights, [b, c.kvHeads, g * t, keys]);
    const att = tf.matMul(probs, vh); // [b, kvh, g*t, hd]
    const attT = t === 1 ? att : headsFirst(tf.reshape(att, [b, c.heads, t, hd]) as tf.Tensor4D); // [b, t, h, hd]
    return this.project(layer, 'o_proj', tf.reshape(attT, [b, t, c.heads * hd]) as tf.Tensor3D, pass);
  }

  /** SwiGLU feed-forward: down(silu(gate(x)) * up(x)), hn [b, t, d] -> [b, t, d]. */
  private mlp(layer: number, hn: tf.Tensor3D, pass: Pass): tf.Tensor3D {
    const gate = this.project(layer, 'gate_proj', hn, pass); // [b, t, f]
    const up = this.project(layer, 'up_proj', hn, pass); // [b, t, f]
    return this.project(layer, 'down_proj', swiglu(gate, up), pass);
  }

  /** The final norm and the output head over the last `keep` positions: x [b, t, d] -> [b, keep, vocab]. */
  private logitsHead(x: tf.Tensor3D, keep: number): tf.Tensor3D {
    const [b, t, d] = x.shape;
    const last = keep < t ? (tf.slice(x, [0, t - keep, 0], [b, keep, d]) as tf.Tensor3D) : x; // [b, keep, d]
    const xn = this.normalize(last, this.norm);
    if (this.head) return (this.trainable ? trainableLinear : frozenLinear)(xn, this.head);
    // Tied and trainable: the embedding itself, so the head's gradient reaches it. [b*keep, d] x [vocab, d]^T
    const logits = tf.matMul(tf.reshape(xn, [-1, d]) as tf.Tensor2D, this.embed, false, true);
    return tf.reshape(logits, [b, last.shape[1], this.config.vocab]);
  }

  /** RMSNorm with weight w [d]: x [b, t, d] -> [b, t, d]; a trainable w is a gain after a unit-weight norm. */
  private normalize(x: tf.Tensor3D, w: tf.Variable<tf.Rank.R1>): tf.Tensor3D {
    const eps = this.config.normEps;
    return this.unit ? gain(rmsNorm(x, this.unit, eps), w) : rmsNorm(x, w, eps);
  }

  /**
   * A projection of `layer`: x [b, t, in] -> [b, t, out] by the frozen (or trainable) weight, through the
   * adapter seam (`adapter.linear(ctx, x, base, weight)`) when an adapter is attached.
   */
  private project(layer: number, module: ModuleName, x: tf.Tensor3D, pass: Pass): tf.Tensor3D {
    const w = (this.blocks[layer] as LayerTensors).proj[module];
    const bias = (this.blocks[layer] as LayerTensors).bias[module];
    if (bias) return this.projectWithBias(layer, module, x, pass, w, bias);
    if (this.trainable) {
      // No weight for the adapter to fuse with: its fused kernels give the base weight no gradient.
      const base = (xi: tf.Tensor3D) => trainableLinear(xi, w);
      return pass.adapter ? pass.adapter.linear({ layer, module }, x, base) : base(x);
    }
    const base = (xi: tf.Tensor3D) => frozenLinear(xi, w);
    const { adapter } = pass;
    if (!adapter) return base(x);
    const attnInput = module === 'q_proj' || module === 'k_proj' || module === 'v_proj';
    const ctx =
      layer === 0 && attnInput && pass.constantInput
        ? { layer, module, constantInput: true }
        : { layer, module };
    return adapter.linear(ctx, x, base, w);
  }

  /**
   * A projection with a bias [out] (Qwen2's q/k/v): the bias is part of the base, y = x·W + bias, so an
   * adapter sees it as HF PEFT does (IA3 scales it with the output). No weight is passed for the adapter to
   * fuse with, since a fused kernel would leave the bias out.
   */
  private projectWithBias(
    layer: number,
    module: ModuleName,
    x: tf.Tensor3D,
    pass: Pass,
    w: tf.Variable<tf.Rank.R2>,
    bias: tf.Variable<tf.Rank.R1>,
  ): tf.Tensor3D {
    const linear = this.trainable ? trainableLinear : frozenLinear;
    const base = (xi: tf.Tensor3D) => tf.add(linear(xi, w), bias) as tf.Tensor3D;
    const { adapter } = pass;
    if (!adapter) return base(x);
    const attnInput = module === 'q_proj' || module === 'k_proj' || module === 'v_proj';
    const ctx =
      layer === 0 && attnInput && pass.constantInput
        ? { layer, module, constantInput: true }
        : { layer, module };
    return adapter.linear(ctx, x, base);
  }

  // ---- BaseWeights: the frozen projections, [in, out], for merging adapters into the base.

  getWeight(ctx: ModuleContext): tf.Tensor2D {
    return this.projection(ctx);
  }

  /** Copies `weight`'s values in; the caller keeps (and disposes) `weight`. */
  setWeight(ctx: ModuleContext, weight: tf.Tensor2D): void {
    const w = this.projection(ctx);
    if (weight.shape[0] !== w.shape[0] || weight.shape[1] !== w.shape[1])
      throw new OppuError(
        'invalid_model_weights',
        `setWeight(layer ${ctx.layer}, ${ctx.module}): shape [${weight.shape}] differs from [${w.shape}]`,
      );
    w.assign(weight);
  }

  /** The token embedding matrix [vocab, d] (the model's own tensor; do not dispose). */
  get embeddings(): tf.Tensor2D {
    return this.embed;
  }

  /** Copies the weights back to the host (for writers). */
  async toArrays(): Promise<LlamaArrays> {
    this.checkAlive();
    const f32 = async (t: tf.Tensor) => (await t.data()) as Float32Array;
    const layers: LlamaLayerArrays[] = [];
    for (const blk of this.blocks) {
      const proj = {} as Record<ModuleName, Float32Array>;
      for (const m of PROJECTIONS) proj[m] = await f32(blk.proj[m]);
      const bias: Partial<Record<ModuleName, Float32Array>> = {};
      for (const m of this.config.biases ?? []) bias[m] = await f32(blk.bias[m] as tf.Variable);
      layers.push({
        attnNorm: await f32(blk.attnNorm),
        ffnNorm: await f32(blk.ffnNorm),
        ...proj,
        ...(this.config.biases ? { bias } : {}),
      });
    }
    return {
      embed: await f32(this.embed),
      layers,
      norm: await f32(this.norm),
      ...(this.config.tiedEmbeddings || !this.head ? {} : { lmHead: await f32(this.head) }),
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([this.embed, this.norm, ...(this.head ? [this.head] : []), ...(this.unit ? [this.unit] : [])]);
    for (const blk of this.blocks)
      tf.dispose([blk.attnNorm, blk.ffnNorm, ...Object.values(blk.proj), ...Object.values(blk.bias)]);
  }

  private projection(ctx: ModuleContext): tf.Variable<tf.Rank.R2> {
    this.checkAlive();
    const blk = this.blocks[ctx.layer];
    const w = blk?.proj[ctx.module];
    if (!w)
      throw new OppuError(
        'invalid_module',
        `llama: no projection "${ctx.module}" in layer ${ctx.layer} (layers 0..${this.config.layers - 1})`,
      );
    return w;
  }

  private checkAlive(): void {
    if (this.disposed) throw new OppuError('disposed', 'llama: this model was disposed');
  }
}

// ----------------------------------------------------------------------------------------------------------
// Building blocks

/**
 * Rotary position embedding angles. Pair j of a head (j < hd/2) turns by the angle pos * theta^(-2j/hd), the
 * frequencies rescaled by `ropeScaling` (rope.ts, as HF's modeling_rope_utils); 'interleaved' pairs slots
 * (2j, 2j+1) (llama2.c), 'half' pairs (j, j + hd/2) (HF rotate_half), with the same angles. `cos`, `sin`
 * [maxSeqLen, hd/2], row-major; the `rope` kernel rotates each pair (a, b) to (a cos - b sin, b cos + a sin).
 * 'dynamic' scaling changes nothing within maxSeqLen (= max_position_embeddings), the only positions used.
 */
export function ropeTables(c: LlamaConfig): { cos: Float32Array; sin: Float32Array } {
  const invFreq = ropeInvFreq(headDimOf(c), c.ropeTheta, c.ropeScaling, {
    maxPositionEmbeddings: c.maxSeqLen,
  });
  return ropeAngleTables(invFreq, c.maxSeqLen);
}

/** Rows `ids` of a host table [rows, w] -> [ids.length, w] (the RoPE angles at each token's position). */
function hostRows(table: Float32Array, ids: Int32Array, w: number): Float32Array {
  const out = new Float32Array(ids.length * w);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    out.set(table.subarray(id * w, (id + 1) * w), i * w);
  }
  return out;
}

/**
 * Position of each new row and the additive attention bias [b, 1, tNew, width] (width >= T: keys from T on
 * are unused cache positions, masked). Real tokens count positions
 * from `prefix` (soft-prompt positions come first); pads take the position of the next real token (unused).
 * A query sees a key if the key is not later than itself and is not a pad, and, with a sliding `window`, if
 * the key's position is less than `window` before its own (HF Mistral: kv_idx > q_idx - sliding_window). With
 * no cache, no pad and no window that cuts in, the mask is plain causal (and width = T): `bias` is then null
 * (the caller uses `causalSoftmax`).
 */
function positionsAndBias(
  mask: Uint8Array[],
  b: number,
  prefix: number,
  past: number,
  tNew: number,
  maxSeqLen: number,
  width: number,
  window = Number.POSITIVE_INFINITY,
): { positions: Int32Array; bias: Float32Array | null } {
  const T = past + tNew;
  const positions = new Int32Array(b * tNew);
  const causal = past === 0 && width === T && window >= T && mask.every((row) => row.every((v) => v === 1));
  const bias = causal ? null : new Float32Array(b * tNew * width).fill(MASKED);
  for (let r = 0; r < b; r++) {
    const row = mask[r] as Uint8Array; // over token positions (no prefix)
    // keyOk[j]: may key j (in cache order: prefix, then tokens) be attended to.
    const keyOk = new Uint8Array(T);
    const posOf = new Int32Array(T);
    let count = 0;
    for (let j = 0; j < T; j++) {
      if (j < prefix) {
        keyOk[j] = 1;
        posOf[j] = j;
      } else {
        keyOk[j] = row[j - prefix] ?? 1;
        posOf[j] = Math.min(prefix + count, maxSeqLen - 1);
        if (keyOk[j]) count++;
      }
    }
    for (let i = 0; i < tNew; i++) {
      const qi = past + i; // the query's index in cache order
      positions[r * tNew + i] = posOf[qi] as number;
      if (!bias) continue;
      const base = (r * tNew + i) * width;
      const from = (posOf[qi] as number) - window; // keys at or before this position are out of the window
      for (let j = 0; j < T; j++)
        bias[base + j] = j <= qi && keyOk[j] && (posOf[j] as number) > from ? 0 : MASKED;
    }
  }
  return { positions, bias };
}

/** The attention mask as host rows of `len` token positions (all ones when absent). */
function readMask(
  mask: tf.Tensor2D | readonly (readonly number[])[] | undefined,
  b: number,
  len: number,
): Uint8Array[] {
  if (!mask) return Array.from({ length: b }, () => new Uint8Array(len).fill(1));
  const shape = mask instanceof tf.Tensor ? mask.shape : [mask.length, mask[0]?.length ?? 0];
  const ragged = !(mask instanceof tf.Tensor) && mask.some((row) => row.length !== len);
  if (shape[0] !== b || shape[1] !== len || ragged)
    throw new OppuError(
      'invalid_attention_mask',
      `llama: attentionMask is [${shape}]${ragged ? ' (ragged)' : ''}, expected [${b}, ${len}] (batch, cached + new tokens)`,
    );
  if (!(mask instanceof tf.Tensor)) return mask.map((row) => Uint8Array.from(row, (v) => (v ? 1 : 0)));
  const data = mask.dataSync();
  return Array.from({ length: b }, (_, r) =>
    Uint8Array.from(data.subarray(r * len, (r + 1) * len), (v) => (v ? 1 : 0)),
  );
}

function isAdapter(o: ForwardOptions | LinearAdapter): o is LinearAdapter {
  return typeof (o as LinearAdapter).linear === 'function';
}

function checkLength(a: Float32Array, n: number, name: string): Float32Array {
  if (a.length !== n)
    throw new OppuError(
      'invalid_model_weights',
      `llama weights: ${name} has ${a.length} values, expected ${n}`,
    );
  return a;
}
