import * as kernels from '@oppu/trainer/kernels';
import * as tf from '@tensorflow/tfjs-core';
import type { LlamaConfig } from './llama-config.js';

/**
 * A Llama decoder for pretraining, in the spirit of nanoGPT: config, blocks, forward, loss, in one file.
 * Pre-norm blocks (RMSNorm), rotary position embeddings (HF `rotate_half` convention), causal multi-head
 * attention with optional grouped KV heads, SwiGLU MLP, tied input/output embeddings.
 *
 * Parameters are tf.Variables keyed by their HF names. Linear weights are held as [in, out] (tfjs matMul
 * layout) and transposed to HF's [out, in] only when exported (`exportHfTensors`).
 */
export class TinyLlama {
  readonly config: LlamaConfig;
  readonly params = new Map<string, tf.Variable>();
  private readonly cos: tf.Tensor2D; // [maxPos, headDim / 2]
  private readonly sin: tf.Tensor2D; // [maxPos, headDim / 2]
  private readonly ropeCache = new Map<string, { cos: tf.Tensor2D; sin: tf.Tensor2D }>();
  private readonly unit: tf.Tensor1D; // [d] ones: the fused RMSNorm's weight (the trainable gain is applied after)

  constructor(config: LlamaConfig, seed: number) {
    this.config = config;
    const { hiddenSize: d, intermediateSize: f, vocabSize: V, numLayers } = config;
    const hd = d / config.numHeads;
    if (!Number.isInteger(hd) || hd % 2 !== 0) {
      throw new Error(`TinyLlama: hiddenSize ${d} / numHeads ${config.numHeads} must be an even integer`);
    }
    const kv = config.numKvHeads * hd;
    let s = seed;
    const normal = (shape: number[], std: number) => tf.randomNormal(shape, 0, std, 'float32', s++);
    // GPT-2 init: N(0, 0.02), residual output projections scaled by 1/sqrt(2 * layers).
    const std = 0.02;
    const resid = std / Math.sqrt(2 * numLayers);
    const add = (name: string, init: tf.Tensor) => {
      this.params.set(name, tf.variable(init, true)); // (unnamed: tfjs variable names are process-global)
      init.dispose();
    };
    add('model.embed_tokens.weight', normal([V, d], std));
    for (let l = 0; l < numLayers; l++) {
      const p = `model.layers.${l}`;
      add(`${p}.input_layernorm.weight`, tf.ones([d]));
      add(`${p}.self_attn.q_proj.weight`, normal([d, d], std));
      add(`${p}.self_attn.k_proj.weight`, normal([d, kv], std));
      add(`${p}.self_attn.v_proj.weight`, normal([d, kv], std));
      add(`${p}.self_attn.o_proj.weight`, normal([d, d], resid));
      add(`${p}.post_attention_layernorm.weight`, tf.ones([d]));
      add(`${p}.mlp.gate_proj.weight`, normal([d, f], std));
      add(`${p}.mlp.up_proj.weight`, normal([d, f], std));
      add(`${p}.mlp.down_proj.weight`, normal([f, d], resid));
    }
    add('model.norm.weight', tf.ones([d]));
    if (!config.tieWordEmbeddings) add('lm_head.weight', normal([d, V], std));

    // Rotary tables: angle(pos, i) = pos * theta^(-2i/hd) for the pair (i, i + hd/2) (HF rotate_half layout).
    const half = hd / 2;
    const cos = new Float32Array(config.maxPositionEmbeddings * half);
    const sin = new Float32Array(config.maxPositionEmbeddings * half);
    for (let pos = 0; pos < config.maxPositionEmbeddings; pos++) {
      for (let i = 0; i < half; i++) {
        const angle = pos * config.ropeTheta ** (-(2 * i) / hd);
        cos[pos * half + i] = Math.cos(angle);
        sin[pos * half + i] = Math.sin(angle);
      }
    }
    this.cos = tf.tensor2d(cos, [config.maxPositionEmbeddings, half]);
    this.sin = tf.tensor2d(sin, [config.maxPositionEmbeddings, half]);
    this.unit = tf.ones([d]);
  }

  /** Rotary angles of each row of a [B, T] batch (position t of every sequence), [B*T, hd/2]; kept per shape. */
  private ropeRows(B: number, T: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
    const key = `${B}x${T}`;
    let rows = this.ropeCache.get(key);
    if (!rows) {
      const half = this.cos.shape[1];
      rows = tf.tidy(() => ({
        cos: tf.keep(tf.tile(tf.slice(this.cos, [0, 0], [T, half]), [B, 1])),
        sin: tf.keep(tf.tile(tf.slice(this.sin, [0, 0], [T, half]), [B, 1])),
      }));
      if (this.ropeCache.size >= 8) {
        // Bounded: generation calls forward with a new length every token.
        const [oldest, old] = this.ropeCache.entries().next().value!;
        tf.dispose([old.cos, old.sin]);
        this.ropeCache.delete(oldest);
      }
      this.ropeCache.set(key, rows);
    }
    return rows;
  }

  private p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`TinyLlama: no parameter ${name}`);
    return v;
  }

  /**
   * Logits for every position: ids int32 [B, T] -> [B, T, V]. Call inside tf.tidy.
   *
   * The element-wise steps are the trainer's fused kernels (`@oppu/trainer/kernels`: embedding, RMSNorm, RoPE,
   * causal softmax, SwiGLU): one native pass each way on wasm with the addon, their plain-tf reference elsewhere.
   * The fused RMSNorm gives no weight gradient (LoRA keeps norms frozen), so here it normalises with a unit
   * weight and the trainable gain is a plain multiply whose gradient tfjs derives.
   */
  forward(ids: tf.Tensor2D): tf.Tensor3D {
    const {
      hiddenSize: d,
      numLayers,
      numHeads: H,
      numKvHeads: KV,
      rmsNormEps: eps,
      vocabSize: V,
    } = this.config;
    const [B, T] = ids.shape;
    if (T > this.config.maxPositionEmbeddings) {
      throw new Error(
        `TinyLlama: sequence of ${T} tokens exceeds max_position_embeddings ${this.config.maxPositionEmbeddings}`,
      );
    }
    const hd = d / H;
    const g = H / KV; // query heads per KV head
    const table = this.p('model.embed_tokens.weight') as tf.Tensor2D;
    const norm = (x: tf.Tensor2D, name: string) =>
      gain(kernels.rmsNorm(x, this.unit, eps), this.p(name) as tf.Tensor1D);
    let x = tf.reshape(kernels.embedding(table, ids), [B * T, d]) as tf.Tensor2D; // [B*T, d]
    const { cos, sin } = this.ropeRows(B, T); // [B*T, hd/2]
    const scale = 1 / Math.sqrt(hd);

    for (let l = 0; l < numLayers; l++) {
      const p = `model.layers.${l}`;
      // --- attention ---
      const h = norm(x, `${p}.input_layernorm.weight`); // [B*T, d]
      const proj = (w: string, n: number) =>
        tf.reshape(tf.matMul(h, this.p(w)), [B * T, n, hd]) as tf.Tensor3D;
      const q = kernels.rope(proj(`${p}.self_attn.q_proj.weight`, H), cos, sin, 'half'); // [B*T, H, hd]
      const k = kernels.rope(proj(`${p}.self_attn.k_proj.weight`, KV), cos, sin, 'half'); // [B*T, KV, hd]
      const v = proj(`${p}.self_attn.v_proj.weight`, KV); // [B*T, KV, hd]
      const heads = (t: tf.Tensor, n: number) => tf.transpose(tf.reshape(t, [B, T, n, hd]), [0, 2, 1, 3]);
      // Grouped-query attention without repeating K/V: the g query heads of one KV head form one matrix.
      const qh = tf.reshape(heads(q, H), [B * KV, g * T, hd]);
      const kh = tf.reshape(heads(k, KV), [B * KV, T, hd]);
      const vh = tf.reshape(heads(v, KV), [B * KV, T, hd]);
      const scores = tf.reshape(tf.matMul(qh, kh, false, true), [B * H, T, T]); // [B*H, T, T]
      const probs = tf.reshape(kernels.causalSoftmax(scores, scale), [B * KV, g * T, T]);
      const att = tf.reshape(tf.matMul(probs, vh), [B, H, T, hd]); // [B, H, T, hd]
      const merged = tf.reshape(tf.transpose(att, [0, 2, 1, 3]), [B * T, d]);
      x = tf.add(x, tf.matMul(merged, this.p(`${p}.self_attn.o_proj.weight`)));
      // --- SwiGLU MLP ---
      const m = norm(x, `${p}.post_attention_layernorm.weight`);
      const gate = tf.matMul(m, this.p(`${p}.mlp.gate_proj.weight`)); // [B*T, f]
      const up = tf.matMul(m, this.p(`${p}.mlp.up_proj.weight`));
      x = tf.add(x, tf.matMul(kernels.swiglu(gate, up), this.p(`${p}.mlp.down_proj.weight`)));
    }
    const out = norm(x, 'model.norm.weight');
    const logits = this.config.tieWordEmbeddings
      ? tf.matMul(out, table, false, true)
      : tf.matMul(out, this.p('lm_head.weight'));
    return tf.reshape(logits, [B, T, V]);
  }

  /** Mean next-token cross-entropy (nats): ids [B, T] predict targets [B, T]. Call inside tf.tidy. */
  loss(ids: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
    const V = this.config.vocabSize;
    const logits = tf.reshape(this.forward(ids), [-1, V]) as tf.Tensor2D;
    return crossEntropy(logits, tf.reshape(targets, [-1]) as tf.Tensor1D);
  }

  /** Parameters as host arrays in this class's own layout (for checkpoints). */
  exportParams(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.params) out.set(name, v.dataSync() as Float32Array);
    return out;
  }

  /** Restores `exportParams()` output. */
  importParams(params: ReadonlyMap<string, Float32Array>): void {
    for (const [name, v] of this.params) {
      const data = params.get(name);
      if (!data || data.length !== v.size) {
        throw new Error(
          `TinyLlama: checkpoint tensor ${name} is missing or has ${data?.length} values, expected ${v.size}`,
        );
      }
      tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
    }
  }

  /** Weights as HF tensors: [out, in] linear layout, float32 data. */
  exportHfTensors(): Map<string, { shape: number[]; data: Float32Array }> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, v] of this.params) {
      const hf =
        name.endsWith('_proj.weight') || name === 'lm_head.weight' ? tf.tidy(() => tf.transpose(v)) : v;
      out.set(name, { shape: hf.shape.slice(), data: hf.dataSync() as Float32Array });
      if (hf !== v) hf.dispose();
    }
    return out;
  }

  /** Loads HF tensors ([out, in] linear layout) into the variables; shapes must match. */
  importHfTensors(tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>): void {
    for (const [name, v] of this.params) {
      const t = tensors.get(name);
      if (!t) throw new Error(`TinyLlama: checkpoint has no tensor ${name}`);
      const transposed = name.endsWith('_proj.weight') || name === 'lm_head.weight';
      const want = transposed ? [v.shape[1], v.shape[0]] : v.shape;
      if (t.shape.join(',') !== want.join(',')) {
        throw new Error(`TinyLlama: tensor ${name} has shape [${t.shape}], expected [${want}]`);
      }
      tf.tidy(() => {
        const x = tf.tensor(t.data, t.shape as number[]);
        v.assign(transposed ? tf.transpose(x) : x);
      });
    }
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.cos.dispose();
    this.sin.dispose();
    this.unit.dispose();
    for (const rows of this.ropeCache.values()) tf.dispose([rows.cos, rows.sin]);
    this.ropeCache.clear();
  }
}

/**
 * A trainable per-feature gain: x [N, d] * w [d]. tfjs's own gradient for w sums dy * x over the rows with a
 * transpose and a reduction (slow on wasm); here it is one matMul, ones [1, N] x (dy * x), which runs on the
 * fast BatchMatMul.
 */
function gain(x: tf.Tensor2D, w: tf.Tensor1D): tf.Tensor2D {
  const [N, d] = x.shape;
  const f = tf.customGrad(
    typedGrad((xi: tf.Tensor2D, wi: tf.Tensor1D, save: tf.GradSaveFunc) => {
      save([xi, wi]);
      return {
        value: tf.mul(xi, wi),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor1D];
          const dw = tf.reshape(tf.matMul(tf.ones([1, N]), tf.mul(dy, xs)), [d]);
          return [tf.mul(dy, ws), dw];
        },
      };
    }),
  );
  return f(x, w) as tf.Tensor2D;
}

/** tf.customGrad's parameter type is `(...args: Array<Tensor | GradSaveFunc>)`; this types a body by its real ones. */
function typedGrad(
  f: (...args: never[]) => {
    value: tf.Tensor;
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
  },
): Parameters<typeof tf.customGrad>[0] {
  return f as unknown as Parameters<typeof tf.customGrad>[0];
}

/**
 * Mean next-token cross-entropy, logsumexp(logits) - logits[target], with the gradient (softmax - onehot) / N:
 * the trainer's fused kernel (one native pass on wasm with the addon), its plain-tf reference elsewhere.
 * logits [N, V], targets int32 [N].
 */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  return kernels.softmaxCrossEntropy(logits, targets);
}
