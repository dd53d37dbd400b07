import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { type LlamaArrays, type LlamaConfig, LlamaModel, randomLlamaArrays } from '../model/llama.js';
import { readSafetensors } from '../safetensors/read.js';
import { writeSafetensors } from '../safetensors/write.js';
import { hfConfigFromLlama, llamaConfigFromHf, loadHfCheckpoint, saveHfCheckpoint } from './hf-checkpoint.js';

const CONFIG: LlamaConfig = {
  dim: 16,
  hidden: 40,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  vocab: 32,
  maxSeqLen: 64,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'interleaved',
  tiedEmbeddings: false,
};

function logitsOf(config: LlamaConfig, weights: LlamaArrays, ids: number[]): Float32Array {
  const model = new LlamaModel(config, weights);
  const x = tf.tensor2d([ids], [1, ids.length], 'int32');
  const y = model.forward(x);
  const data = y.dataSync() as Float32Array;
  tf.dispose([x, y]);
  model.dispose();
  return data;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = a.length === b.length ? 0 : Number.POSITIVE_INFINITY;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('HF checkpoints', () => {
  let dir: string;
  const ids = [1, 5, 9, 2, 30, 17, 4, 4, 11];
  beforeAll(async () => {
    await initBackend({ backend: 'cpu', log: () => {} });
    dir = await mkdtemp(path.join(os.tmpdir(), 'oppu-hf-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('saves an interleaved-RoPE model in HF layout and loads it back (rotate_half) to the same logits', async () => {
    const weights = randomLlamaArrays(CONFIG, 7);
    // Random weights are too small to tell the RoPE conventions apart: scale q/k up.
    for (const l of weights.layers)
      for (const a of [l.q_proj, l.k_proj]) for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) * 50;
    const out = path.join(dir, 'roundtrip');
    const hash = await saveHfCheckpoint(out, CONFIG, weights);
    const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      architectures: ['LlamaForCausalLM'],
      hidden_size: 16,
      num_key_value_heads: 2,
    });
    const file = readSafetensors(await readFile(path.join(out, 'model.safetensors')));
    expect(file.tensors.get('model.layers.1.self_attn.k_proj.weight')?.shape).toEqual([8, 16]); // [out, in]
    expect(file.tensors.get('model.layers.0.mlp.down_proj.weight')?.shape).toEqual([16, 40]);
    expect(file.tensors.get('lm_head.weight')?.shape).toEqual([32, 16]);

    const loaded = await loadHfCheckpoint(out);
    expect(loaded.hash).toBe(hash);
    expect(loaded.config).toEqual({ ...CONFIG, ropeStyle: 'half' });
    const before = logitsOf(CONFIG, weights, ids);
    expect(maxAbsDiff(logitsOf(loaded.config, loaded.weights, ids), before)).toBeLessThan(1e-5);
    // Without the q/k permutation, 'half' RoPE on interleaved weights would be a different function.
    expect(maxAbsDiff(logitsOf({ ...CONFIG, ropeStyle: 'half' }, weights, ids), before)).toBeGreaterThan(
      1e-3,
    );
  });

  it('reads fp16 and bf16 checkpoints (converted to fp32) and tied embeddings', async () => {
    const tied = { ...CONFIG, tiedEmbeddings: true, ropeStyle: 'half' as const };
    const weights = randomLlamaArrays(tied, 3);
    const want = logitsOf(tied, weights, ids);
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const out = path.join(dir, dtype);
      await saveHfCheckpoint(out, tied, weights, { dtype });
      const loaded = await loadHfCheckpoint(out);
      expect(loaded.config.tiedEmbeddings).toBe(true);
      expect(loaded.weights.lmHead).toBeUndefined();
      expect(maxAbsDiff(logitsOf(loaded.config, loaded.weights, ids), want)).toBeLessThan(
        dtype === 'float16' ? 1e-3 : 1e-2,
      );
    }
  });

  it('loads a sharded checkpoint through model.safetensors.index.json', async () => {
    const cfg = { ...CONFIG, ropeStyle: 'half' as const };
    const weights = randomLlamaArrays(cfg, 11);
    const single = path.join(dir, 'single');
    await saveHfCheckpoint(single, cfg, weights);
    const all = readSafetensors(await readFile(path.join(single, 'model.safetensors'))).tensors;
    const sharded = path.join(dir, 'sharded');
    await saveHfCheckpoint(sharded, cfg, weights); // for config.json
    await rm(path.join(sharded, 'model.safetensors'));
    const names = [...all.keys()];
    const shards = [names.slice(0, 7), names.slice(7)];
    const weightMap: Record<string, string> = {};
    for (const [i, shard] of shards.entries()) {
      const fileName = `model-0000${i + 1}-of-00002.safetensors`;
      await writeFile(
        path.join(sharded, fileName),
        writeSafetensors(new Map(shard.map((n) => [n, all.get(n)!]))),
      );
      for (const n of shard) weightMap[n] = fileName;
    }
    await writeFile(
      path.join(sharded, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: weightMap }),
    );
    const loaded = await loadHfCheckpoint(sharded);
    expect(maxAbsDiff(logitsOf(loaded.config, loaded.weights, ids), logitsOf(cfg, weights, ids))).toBe(0);
  });

  it('saves and reloads biases, head_dim, rope scaling and a sliding window (interleaved q/k biases permuted)', async () => {
    const cfg: LlamaConfig = {
      ...CONFIG,
      headDim: 6,
      biases: ['q_proj', 'k_proj', 'v_proj'],
      ropeScaling: { type: 'linear', factor: 2 },
    };
    const weights = randomLlamaArrays({ ...cfg, biases: undefined }, 5);
    const withBias = {
      ...weights,
      layers: weights.layers.map((l, i) => ({
        ...l,
        q_proj: l.q_proj.map((v) => v * 50),
        k_proj: l.k_proj.map((v) => v * 50),
        bias: Object.fromEntries(
          (['q_proj', 'k_proj', 'v_proj'] as const).map((m) => [
            m,
            Float32Array.from({ length: (m === 'q_proj' ? 4 : 2) * 6 }, (_, j) => Math.sin(i + j + m.length)),
          ]),
        ),
      })),
    };
    const want = logitsOf(cfg, withBias, ids);
    const out = path.join(dir, 'qwen-like');
    await saveHfCheckpoint(out, cfg, withBias);
    const loaded = await loadHfCheckpoint(out);
    expect(JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8')).architectures).toEqual([
      'Qwen2ForCausalLM',
    ]);
    expect(loaded.config).toEqual({ ...cfg, ropeStyle: 'half' });
    expect(maxAbsDiff(logitsOf(loaded.config, loaded.weights, ids), want)).toBeLessThan(1e-5);
    // The biases matter: without them the function differs.
    expect(
      maxAbsDiff(
        logitsOf(
          cfg,
          {
            ...withBias,
            layers: withBias.layers.map((l) => ({
              ...l,
              bias: { q_proj: l.bias.q_proj, k_proj: l.bias.k_proj, v_proj: new Float32Array(12) },
            })),
          },
          ids,
        ),
        want,
      ),
    ).toBeGreaterThan(1e-3);

    const mistral: LlamaConfig = { ...CONFIG, ropeStyle: 'half', slidingWindow: 3 };
    const mw = randomLlamaArrays(mistral, 6);
    const mout = path.join(dir, 'mistral-like');
    await saveHfCheckpoint(mout, mistral, mw);
    const ml = await loadHfCheckpoint(mout);
    expect(ml.config.slidingWindow).toBe(3);
    expect(maxAbsDiff(logitsOf(ml.config, ml.weights, ids), logitsOf(mistral, mw, ids))).toBe(0);
  });

  it('says which tensor is missing or misshapen, and refuses unsupported configs', async () => {
    const cfg = { ...CONFIG, ropeStyle: 'half' as const };
    const out = path.join(dir, 'broken');
    await saveHfCheckpoint(out, cfg, randomLlamaArrays(cfg, 1));
    const file = path.join(out, 'model.safetensors');
    const tensors = readSafetensors(await readFile(file)).tensors;
    tensors.delete('model.layers.1.mlp.up_proj.weight');
    await writeFile(file, writeSafetensors(tensors));
    await expect(loadHfCheckpoint(out)).rejects.toThrow(/has no tensor "model.layers.1.mlp.up_proj.weight"/);
    const hf = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8'));
    await writeFile(path.join(out, 'config.json'), JSON.stringify({ ...hf, intermediate_size: 41 }));
    await expect(loadHfCheckpoint(out)).rejects.toThrow(
      /tensor "model.layers.0.mlp.gate_proj.weight" has shape \[40,16\], config.json implies \[41,16\]/,
    );
    expect(() => llamaConfigFromHf({ ...hf, rope_scaling: { rope_type: 'yarn', factor: 2 } })).toThrow(
      /"rope_scaling.rope_type" "yarn" is not supported/,
    );
    expect(() => llamaConfigFromHf({ ...hf, hidden_size: 'big' })).toThrow(
      /"hidden_size" must be a positive integer/,
    );
  });
});

describe('HF config.json of each family', () => {
  const base = {
    hidden_size: 64,
    intermediate_size: 112,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 71,
    max_position_embeddings: 256,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
  };
  const common = {
    dim: 64,
    hidden: 112,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    vocab: 71,
    maxSeqLen: 256,
    normEps: 1e-5,
    ropeTheta: 10000,
    ropeStyle: 'half',
    tiedEmbeddings: false,
  };

  it('Llama 3.x: llama3 rope scaling, tied embeddings, head_dim equal to hidden / heads', () => {
    const c = llamaConfigFromHf({
      ...base,
      architectures: ['LlamaForCausalLM'],
      head_dim: 16,
      tie_word_embeddings: true,
      rope_scaling: {
        factor: 32.0,
        high_freq_factor: 4.0,
        low_freq_factor: 1.0,
        original_max_position_embeddings: 8192,
        rope_type: 'llama3',
      },
    });
    expect(c).toEqual({
      ...common,
      tiedEmbeddings: true,
      ropeScaling: {
        type: 'llama3',
        factor: 32,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 8192,
      },
    });
  });

  it('Llama attention_bias and mlp_bias, linear and dynamic scaling', () => {
    expect(
      llamaConfigFromHf({
        ...base,
        attention_bias: true,
        mlp_bias: true,
        rope_scaling: { type: 'dynamic', factor: 2 },
      }),
    ).toEqual({
      ...common,
      biases: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      ropeScaling: { type: 'dynamic', factor: 2 },
    });
    expect(llamaConfigFromHf({ ...base, rope_scaling: { type: 'linear', factor: 4 } }).ropeScaling).toEqual({
      type: 'linear',
      factor: 4,
    });
  });

  it('Qwen2: q/k/v biases; a sliding window on some layers is refused, naming the key', () => {
    const qwen = {
      ...base,
      architectures: ['Qwen2ForCausalLM'],
      model_type: 'qwen2',
      max_window_layers: 2,
      sliding_window: 256,
      use_sliding_window: false,
      tie_word_embeddings: true,
    };
    expect(llamaConfigFromHf(qwen)).toEqual({
      ...common,
      tiedEmbeddings: true,
      biases: ['q_proj', 'k_proj', 'v_proj'],
    });
    expect(() => llamaConfigFromHf({ ...qwen, use_sliding_window: true, max_window_layers: 1 })).toThrow(
      'config.json: "use_sliding_window" puts a sliding window on some layers only; not supported',
    );
    // Every layer below max_window_layers: no layer slides, so it loads.
    expect(llamaConfigFromHf({ ...qwen, use_sliding_window: true }).slidingWindow).toBeUndefined();
  });

  it('Mistral: sliding window and an explicit head_dim', () => {
    const mistral = { ...base, architectures: ['MistralForCausalLM'], sliding_window: 8, head_dim: 24 };
    expect(llamaConfigFromHf(mistral)).toEqual({ ...common, slidingWindow: 8, headDim: 24 });
    expect(llamaConfigFromHf({ ...mistral, sliding_window: null }).slidingWindow).toBeUndefined();
  });

  it('refuses other architectures and features with one line naming the key', () => {
    expect(() => llamaConfigFromHf({ ...base, architectures: ['GPT2LMHeadModel'] }, 'x/config.json')).toThrow(
      'x/config.json: "architectures" ["GPT2LMHeadModel"] is not supported (LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM)',
    );
    expect(() => llamaConfigFromHf({ ...base, model_type: 'phi3' })).toThrow(
      '"model_type" "phi3" is not supported',
    );
    expect(() => llamaConfigFromHf({ ...base, hidden_act: 'gelu' })).toThrow(
      '"hidden_act" "gelu" is not supported',
    );
    expect(() => llamaConfigFromHf({ ...base, partial_rotary_factor: 0.5 })).toThrow(
      '"partial_rotary_factor" 0.5 is not supported',
    );
    expect(() => llamaConfigFromHf({ ...base, quantization_config: { quant_method: 'gptq' } })).toThrow(
      '"quantization_config" is set',
    );
    expect(() =>
      llamaConfigFromHf({ ...base, architectures: ['MistralForCausalLM'], mlp_bias: true }),
    ).toThrow('"mlp_bias" true is not supported for MistralForCausalLM');
  });

  it('writes each family back as it reads it', () => {
    for (const extra of [
      { architectures: ['Qwen2ForCausalLM'], tie_word_embeddings: true },
      { architectures: ['MistralForCausalLM'], sliding_window: 8, head_dim: 24 },
      {
        architectures: ['LlamaForCausalLM'],
        attention_bias: true,
        rope_scaling: { rope_type: 'linear', factor: 2 },
      },
    ]) {
      const c = llamaConfigFromHf({ ...base, ...extra });
      const hf = hfConfigFromLlama(c);
      expect(hf.architectures).toEqual(extra.architectures);
      expect(llamaConfigFromHf(hf)).toEqual(c);
    }
  });
});
