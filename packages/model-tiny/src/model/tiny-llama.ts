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
  private readonly cos: tf.Tensor2D; // [maxPos, headDim]
  private readonly sin: tf.Tensor2D; // [maxPos, headDim]

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

    // Rotary tables: angle(pos, i) = pos * theta^(-2i/hd), duplicated over the two halves (rotate_half layout).
    const half = hd / 2;
    const cos = new Float32Array(config.maxPositionEmbeddings * hd);
    const sin = new Float32Array(config.maxPositionEmbeddings * hd);
    for (let pos = 0; pos < config.maxPositionEmbeddings; pos++) {
      for (let i = 0; i < half; i++) {
        const angle = pos * config.ropeTheta ** (-(2 * i) / hd);
        cos[pos * hd + i] = cos[pos * hd + i + half] = Math.cos(angle);
        sin[pos * hd + i] = sin[pos * hd + i + half] = Math.sin(angle);
      }
    }
    this.cos = tf.tensor2d(cos, [config.maxPositionEmbeddings, hd]);
    this.sin = tf.tensor2d(sin, [config.maxPositionEmbeddings, hd]);
  }

  private p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`TinyLlama: no parameter ${name}`);
    return v;
  }

  /** Logits for every position: ids int32 [B, T] -> [B, T, V]. Call inside tf.tidy. */
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
    const table = this.p('model.embed_tokens.weight') as tf.Tensor2D;
    let x = embed(table, ids); // [B, T, d]
    const cos = tf.slice(this.cos, [0, 0], [T, hd]); // [T, hd]
    const sin = tf.slice(this.sin, [0, 0], [T, hd]);
    // Causal mask: 0 on and below the diagonal, -1e9 above. [T, T]
    const mask = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9);
    const scale = 1 / Math.sqrt(hd);

    for (let l = 0; l < numLayers; l++) {
      const p = `model.layers.${l}`;
      // --- attention ---
      const h = rmsNorm(x, this.p(`${p}.input_layernorm.weight`), eps);
      const h2 = tf.reshape(h, [B * T, d]);
      const heads = (w: string, n: number) =>
        tf.transpose(tf.reshape(tf.matMul(h2, this.p(w)), [B, T, n, hd]), [0, 2, 1, 3]); // [B, n, T, hd]
      let q = rope(heads(`${p}.self_attn.q_proj.weight`, H), cos, sin);
      let k = rope(heads(`${p}.self_attn.k_proj.weight`, KV), cos, sin);
      let v = heads(`${p}.self_attn.v_proj.weight`, KV);
      if (KV !== H) {
        // Grouped-query attention: repeat each KV head H/KV times.
        // (rank-3 tile: tfjs has no tile gradient above rank 4)
        const rep = (t: tf.Tensor) =>
          tf.reshape(tf.tile(tf.reshape(t, [B * KV, 1, T * hd]), [1, H / KV, 1]), [B, H, T, hd]);
        k = rep(k);
        v = rep(v);
      }
      q = tf.reshape(q, [B * H, T, hd]);
      const scores = tf.add(tf.mul(tf.matMul(q, tf.reshape(k, [B * H, T, hd]), false, true), scale), mask); // [B*H, T, T]
      const att = tf.matMul(tf.softmax(scores), tf.reshape(v, [B * H, T, hd])); // [B*H, T, hd]
      const merged = tf.reshape(tf.transpose(tf.reshape(att, [B, H, T, hd]), [0, 2, 1, 3]), [B * T, d]);
      x = tf.add(x, tf.reshape(tf.matMul(merged, this.p(`${p}.self_attn.o_proj.weight`)), [B, T, d]));
      // --- SwiGLU MLP ---
      const m = tf.reshape(rmsNorm(x, this.p(`${p}.post_attention_layernorm.weight`), eps), [B * T, d]);
      const gate = tf.matMul(m, this.p(`${p}.mlp.gate_proj.weight`));
      const up = tf.matMul(m, this.p(`${p}.mlp.up_proj.weight`));
      const down = tf.matMul(tf.mul(tf.mul(gate, tf.sigmoid(gate)), up), this.p(`${p}.mlp.down_proj.weight`));
      x = tf.add(x, tf.reshape(down, [B, T, d]));
    }
    const out = tf.reshape(rmsNorm(x, this.p('model.norm.weight'), eps), [B * T, d]);
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
  }
}

/** x / rms(x) * w over the last axis. x [B, T, d], w [d]. */
function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
}

/** Rotary embedding, HF rotate_half convention. x [B, n, T, hd], cos/sin [T, hd]. */
function rope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const hd = x.shape[3]!;
  const [x1, x2] = tf.split(x, [hd / 2, hd / 2], 3);
  const rotated = tf.concat([tf.neg(x2!), x1!], 3);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
}

/**
 * Embedding lookup with a host-side scatter-add gradient (tfjs-backend-wasm has no UnsortedSegmentSum, the
 * gradient of tf.gather). table [V, d], ids int32 [B, T] -> [B, T, d].
 */
function embed(table: tf.Tensor2D, ids: tf.Tensor2D): tf.Tensor3D {
  const [V, d] = table.shape;
  const [B, T] = ids.shape;
  const flat = tf.reshape(ids, [-1]) as tf.Tensor1D;
  // Host copy of the ids: intermediate tensors are gone by the time tfjs runs the backward pass.
  const idx = flat.dataSync();
  const f = tf.customGrad(
    typedGrad((t: tf.Tensor) => ({
      value: tf.reshape(tf.gather(t, flat), [B, T, d]),
      gradFunc: (dy: tf.Tensor) => {
        const g = tf.reshape(dy, [-1, d]).dataSync() as Float32Array;
        const out = new Float32Array(V * d);
        for (let i = 0; i < idx.length; i++) {
          const o = idx[i]! * d;
          const r = i * d;
          for (let j = 0; j < d; j++) out[o + j]! += g[r + j]!;
        }
        return tf.tensor2d(out, [V, d]);
      },
    })),
  );
  return f(table) as tf.Tensor3D;
}

/**
 * Mean of logsumexp(logits) - logits[target], with the gradient written directly as (softmax - onehot) / N.
 * logits [N, V], targets int32 [N].
 */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const [N, V] = logits.shape;
  const hostTargets = targets.dataSync(); // intermediate tensors are gone by the backward pass
  const f = tf.customGrad(
    typedGrad((z: tf.Tensor, save: tf.GradSaveFunc) => {
      save([z]);
      const lse = tf.logSumExp(z, -1); // [N]
      const picked = tf.gather(
        tf.reshape(z, [-1]),
        tf.add(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), targets),
      ); // [N]
      return {
        value: tf.mean(tf.sub(lse, picked)) as tf.Scalar,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          // (tfjs-backend-wasm 4.22 OneHot writes int bits when asked for float32: cast instead.)
          const onehot = tf.cast(tf.oneHot(tf.tensor1d(hostTargets, 'int32'), V), 'float32');
          return tf.mul(tf.sub(tf.softmax(saved[0]!), onehot), tf.div(dy, N));
        },
      };
    }),
  );
  return f(logits) as tf.Scalar;
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
