import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdapterWeights, HostTensor } from '@oppu/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interleavedToHalfRows, loadHfCheckpoint, saveHfCheckpoint } from '../loaders/hf-checkpoint.js';
import { type LlamaConfig, projectionShape, randomLlamaArrays } from '../model/llama.js';
import { loraConfigToPeft } from '../peft/lora/config.js';
import { peftModulePath } from '../peft/model-dims.js';
import { transpose2d } from '../peft/weights-check.js';
import { tinyTokenizerJson } from '../tokenizer/tiny-tokenizer.js';
import {
  checkGgufExportable,
  GGUF_TOKEN_TYPE,
  ggufTokenizerFromHf,
  halfToInterleavedRows,
  llamaGgufMetadata,
  llamaGgufTensors,
  loraGgufTensors,
} from './llama-gguf.js';

/** The embedded model's folder (packages/model-tiny/model): byte-level BPE, 4096 ids. */
const TINY_DIR = fileURLToPath(new URL('../../../model-tiny/model/', import.meta.url));
const readJson = async (file: string) => JSON.parse(await readFile(path.join(TINY_DIR, file), 'utf8'));

const CONFIG: LlamaConfig = {
  dim: 16,
  hidden: 24,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  vocab: 40,
  maxSeqLen: 64,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'interleaved',
  tiedEmbeddings: false,
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'oppu-gguf-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const random = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 1.7));

describe('llama.cpp tensor layout', () => {
  it('halfToInterleavedRows undoes interleavedToHalfRows (HF conversion) row for row', () => {
    const w = random(3 * 8 * 5, 1); // 3 heads x hd 8, 5 columns
    const half = interleavedToHalfRows(w, 3, 8, 5);
    expect(half).not.toEqual(w);
    expect(halfToInterleavedRows(half, 3, 8, 5)).toEqual(w);
  });

  it('an HF checkpoint exports to the original (llama2.c / Meta) q/k row order, every weight [out, in]', async () => {
    // llama.cpp's RoPE pairs (2i, 2i+1), as llama2.c: weights saved through HF's rotate_half layout and loaded
    // back must come out of the export exactly as they went in.
    const original = randomLlamaArrays(CONFIG, 3);
    await saveHfCheckpoint(path.join(dir, 'hf'), CONFIG, original);
    const hf = await loadHfCheckpoint(path.join(dir, 'hf'));
    expect(hf.config.ropeStyle).toBe('half');
    const byName = new Map(llamaGgufTensors(hf.config, hf.weights).map((t) => [t.name, t]));
    for (const [m, name] of [
      ['q_proj', 'attn_q'],
      ['k_proj', 'attn_k'],
      ['v_proj', 'attn_v'],
      ['o_proj', 'attn_output'],
      ['gate_proj', 'ffn_gate'],
      ['up_proj', 'ffn_up'],
      ['down_proj', 'ffn_down'],
    ] as const) {
      const [inF, outF] = projectionShape(CONFIG, m);
      const t = byName.get(`blk.1.${name}.weight`);
      expect(t?.shape, name).toEqual([outF, inF]);
      expect(t?.data, name).toEqual(transpose2d(original.layers[1]?.[m] as Float32Array, inF, outF));
    }
    expect(byName.get('token_embd.weight')?.shape).toEqual([40, 16]);
    expect(byName.get('output.weight')?.data).toEqual(transpose2d(original.lmHead as Float32Array, 16, 40));
    expect(byName.get('blk.0.attn_norm.weight')?.data).toEqual(original.layers[0]?.attnNorm);
    expect(byName.size).toBe(3 + 2 * 9);
    // Tied embeddings: no output tensor (llama.cpp falls back to token_embd).
    const tied = llamaGgufTensors({ ...CONFIG, tiedEmbeddings: true }, { ...original, lmHead: undefined });
    expect(tied.some((t) => t.name === 'output.weight')).toBe(false);
  });

  it('refuses a model with a feature the export does not write, naming it', () => {
    // A config field the decoder might grow (attention sinks, say) is refused until the export writes it.
    const c = { ...CONFIG, attentionSinks: 4 } as unknown as LlamaConfig;
    expect(() => checkGgufExportable(c)).toThrow(
      /sets attentionSinks \(4\), which the GGUF export does not write/,
    );
    const scaled = { ...CONFIG, ropeScaling: { type: 'linear', factor: 2 } } as LlamaConfig;
    expect(() => checkGgufExportable(scaled)).not.toThrow();
    expect(() =>
      checkGgufExportable({ ...CONFIG, slidingWindow: undefined } as unknown as LlamaConfig),
    ).not.toThrow();
  });
});

describe('tokenizer metadata', () => {
  it("the embedded model's byte-level BPE: every id, its merges, control specials, BOS added", async () => {
    const json = await readJson('tokenizer.json');
    const t = ggufTokenizerFromHf(json, await readJson('tokenizer_config.json'), 4096);
    expect(t.pre).toBe('gpt-2');
    expect(t.tokens).toHaveLength(4096);
    expect(t.tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<pad>']);
    expect(t.tokenTypes.slice(0, 5)).toEqual([3, 3, 3, 3, GGUF_TOKEN_TYPE.normal]);
    expect(t.tokens[json.model.vocab.Ġthe]).toBe('Ġthe');
    expect(t.merges).toHaveLength(json.model.merges.length);
    expect(t.merges[0]).toBe('Ġ t');
    expect({ bos: t.bosId, eos: t.eosId, unk: t.unkId, pad: t.padId }).toEqual({
      bos: 1,
      eos: 2,
      unk: 0,
      pad: 3,
    });
    expect([t.addBos, t.addEos]).toEqual([true, false]);
    const m = llamaGgufMetadata({ ...CONFIG, vocab: 4096 }, t, 'tiny');
    expect(m.get('tokenizer.ggml.model')).toEqual({ type: 'string', value: 'gpt2' });
    expect(m.get('llama.rope.dimension_count')).toEqual({ type: 'uint32', value: 4 });
    expect(m.get('llama.attention.head_count_kv')).toEqual({ type: 'uint32', value: 2 });
  });

  it('pads ids the tokenizer does not use up to the model vocabulary, as unused tokens', async () => {
    const t = ggufTokenizerFromHf(await readJson('tokenizer.json'), {}, 4100);
    expect(t.tokens.slice(4096)).toEqual(['[PAD4096]', '[PAD4097]', '[PAD4098]', '[PAD4099]']);
    expect(t.tokenTypes[4099]).toBe(GGUF_TOKEN_TYPE.unused);
  });

  it('refuses tokenizers llama.cpp\'s "gpt2" model would split differently, naming the field', async () => {
    const json = await readJson('tokenizer.json');
    const metaspace = tinyTokenizerJson();
    expect(() => ggufTokenizerFromHf(metaspace.json, metaspace.config, 200)).toThrow(
      /tokenizer.json: pre_tokenizer "Metaspace" is not ByteLevel.*byte-level BPE tokenizers/,
    );
    expect(() =>
      ggufTokenizerFromHf({ ...json, model: { ...json.model, type: 'Unigram' } }, {}, 4096),
    ).toThrow(/model.type is "Unigram", not "BPE"/);
    expect(() => ggufTokenizerFromHf({ ...json, normalizer: { type: 'NFC' } }, {}, 4096)).toThrow(
      /normalizer "NFC" is set/,
    );
    expect(() => ggufTokenizerFromHf(json, {}, 4000)).toThrow(
      /id \d+ of .* is beyond the model's vocabulary of 4000/,
    );
  });
});

describe('LoRA adapters', () => {
  const HF: LlamaConfig = { ...CONFIG, ropeStyle: 'half' };
  const r = 2;
  function adapter(modules: string[], extra: Record<string, unknown> = {}): AdapterWeights {
    const tensors = new Map<string, HostTensor>();
    let seed = 10;
    for (let l = 0; l < HF.layers; l++) {
      for (const m of modules as ('q_proj' | 'k_proj' | 'v_proj')[]) {
        const [inF, outF] = projectionShape(HF, m);
        const p = peftModulePath(l, m);
        tensors.set(`${p}.lora_A.weight`, {
          dtype: 'float32',
          shape: [r, inF],
          data: random(r * inF, seed++),
        });
        tensors.set(`${p}.lora_B.weight`, {
          dtype: 'float32',
          shape: [outF, r],
          data: random(outF * r, seed++),
        });
      }
    }
    const config = {
      ...loraConfigToPeft({ method: 'lora', r, alpha: 6, dropout: 0, targetModules: modules }),
      ...extra,
    };
    return { config, tensors };
  }

  it('names tensors after the base weights, permutes q/k lora_b rows (not lora_a), keeps the scale', () => {
    const a = adapter(['q_proj', 'k_proj', 'v_proj']);
    const { tensors, alpha } = loraGgufTensors(a, HF);
    expect(alpha).toBe(6); // llama.cpp scales by alpha / r, as PEFT
    const byName = new Map(tensors.map((t) => [t.name, t]));
    expect(byName.size).toBe(2 * 3 * 2);
    const src = (m: string, ab: 'A' | 'B') =>
      a.tensors.get(`${peftModulePath(1, m as 'q_proj')}.lora_${ab}.weight`)?.data as Float32Array;
    expect(byName.get('blk.1.attn_q.weight.lora_a')).toMatchObject({
      shape: [r, 16],
      data: src('q_proj', 'A'),
    });
    expect(byName.get('blk.1.attn_q.weight.lora_b')).toMatchObject({
      shape: [16, r],
      data: halfToInterleavedRows(src('q_proj', 'B'), 4, 4, r),
    });
    expect(byName.get('blk.1.attn_k.weight.lora_b')?.data).toEqual(
      halfToInterleavedRows(src('k_proj', 'B'), 2, 4, r),
    );
    expect(byName.get('blk.1.attn_v.weight.lora_b')?.data).toEqual(src('v_proj', 'B'));
    // A llama2.c-order base needs no permutation.
    const plain = loraGgufTensors(a, CONFIG).tensors.find((t) => t.name === 'blk.1.attn_q.weight.lora_b');
    expect(plain?.data).toEqual(src('q_proj', 'B'));
  });

  it('writes rsLoRA scaling (alpha / sqrt(r)) as the alpha llama.cpp divides by r', () => {
    const { alpha } = loraGgufTensors(adapter(['v_proj'], { use_rslora: true }), HF);
    expect(alpha).toBeCloseTo((6 / Math.sqrt(r)) * r, 5);
  });

  it('refuses adapters llama.cpp cannot load or that do not fit the base, naming the file', () => {
    expect(() =>
      loraGgufTensors({ config: { peft_type: 'IA3' }, tensors: new Map() }, HF, 'users/alice'),
    ).toThrow(/users\/alice\/adapter_config.json: peft_type "IA3"; llama.cpp loads LoRA adapters only/);
    expect(() => loraGgufTensors(adapter(['q_proj']), { ...HF, dim: 32, heads: 8 }, 'users/alice')).toThrow(
      /users\/alice: tensor ".*q_proj.lora_A.weight" has shape \[2, 16\], this model needs \[2, 32\]/,
    );
  });
});
