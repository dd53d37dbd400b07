import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AdapterWeights } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { saveHfCheckpoint } from '../loaders/hf-checkpoint.js';
import { KVCache, type LlamaConfig, LlamaModel, randomLlamaArrays } from '../model/llama.js';
import { LoraModel } from '../peft/lora/model.js';
import { MultiLora } from '../peft/lora/multi.js';
import { HfTokenizer } from '../tokenizer/hf-tokenizer.js';
import { tinyTokenizerJson } from '../tokenizer/tiny-tokenizer.js';
import { generateAll } from './generate-tokens.js';
import { argmax } from './sampling.js';
import { TfBaseModel } from './tf-base-model.js';

const { json, config: tokConfig } = tinyTokenizerJson();
const tokenizer = new HfTokenizer(json, tokConfig);

const CONFIG: LlamaConfig = {
  dim: 32,
  hidden: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  vocab: 80,
  maxSeqLen: 96,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'half',
  tiedEmbeddings: false,
};

/** A random model with weights large enough that greedy choices are decisive (no near-ties). */
function decisiveModel(seed: number): LlamaModel {
  const w = randomLlamaArrays(CONFIG, seed);
  const scale = (a: Float32Array, s: number) => {
    for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) * s;
  };
  scale(w.embed, 50);
  scale(w.lmHead as Float32Array, 100);
  for (const l of w.layers) for (const a of [l.q_proj, l.k_proj, l.v_proj, l.o_proj]) scale(a, 15);
  return new LlamaModel(CONFIG, w);
}

describe('generation', () => {
  let model: LlamaModel;
  let base: TfBaseModel;
  beforeAll(async () => {
    await initBackend({ backend: 'cpu', log: () => {} });
    model = decisiveModel(5);
    base = new TfBaseModel(model, tokenizer, { name: 'tiny-random', hash: 'f'.repeat(64) });
  });
  afterAll(() => model.dispose());

  it('decodes with the KV cache exactly as full recomputation without it', async () => {
    const prompt = tokenizer.encode('the cat sat on');
    const [out] = await generateAll(model, [prompt], { maxNewTokens: 12 });
    const ids = [...prompt];
    for (let i = 0; i < 12; i++) {
      const x = tf.tensor2d([ids], [1, ids.length], 'int32');
      const logits = model.forward(x);
      const data = logits.dataSync();
      tf.dispose([x, logits]);
      ids.push(argmax(data.subarray((ids.length - 1) * CONFIG.vocab)));
    }
    expect(out?.ids).toEqual(ids.slice(prompt.length));
  });

  it('batched generation with left padding gives every row the tokens it gets alone', async () => {
    const prompts = ['hello', 'the cat sat on the mat', 'a dog ran here', 'stop'].map((p) =>
      tokenizer.encode(p),
    );
    const batched = await generateAll(model, prompts, { maxNewTokens: 10, padId: 3 });
    for (const [i, p] of prompts.entries()) {
      const [alone] = await generateAll(model, [p], { maxNewTokens: 10 });
      expect(batched[i]?.ids).toEqual(alone?.ids);
    }
    // And left padding changes nothing about the logits of the real positions.
    const ids = tf.tensor2d(
      [[3, 3, 3, ...(prompts[0] as number[])]],
      [1, 3 + (prompts[0] as number[]).length],
      'int32',
    );
    const mask = tf.tensor2d([[0, 0, 0, ...(prompts[0] as number[]).map(() => 1)]], ids.shape, 'int32');
    const padded = model.forward(ids, { attentionMask: mask });
    const plain = tf.tensor2d([prompts[0] as number[]], [1, (prompts[0] as number[]).length], 'int32');
    const unpadded = model.forward(plain);
    const diff = tf.max(tf.abs(tf.sub(tf.slice(padded, [0, 3, 0], unpadded.shape), unpadded))).dataSync()[0];
    expect(diff).toBeLessThan(1e-3);
    tf.dispose([ids, mask, padded, plain, unpadded]);
  });

  it('generates text: greedy is repeatable, a seed fixes sampling, max new tokens is a length stop', async () => {
    const [a] = await base.generate([{ prompt: 'the cat' }], { maxNewTokens: 8 });
    const [b] = await base.generate([{ prompt: 'the cat' }], { maxNewTokens: 8 });
    expect(a).toEqual(b);
    expect(a?.finishReason).toBe('length');
    expect(a?.tokens).toBe(8);
    const sample = (seed: number) =>
      base.generate([{ prompt: 'the cat' }, { prompt: 'a dog' }], {
        maxNewTokens: 10,
        temperature: 1.5,
        topP: 0.95,
        seed,
      });
    expect(await sample(1)).toEqual(await sample(1));
    expect(await sample(1)).not.toEqual(await sample(2));
    // A request samples the same text alone as in a batch (each row has its own seeded stream).
    const [alone] = await base.generate([{ prompt: 'a dog' }], {
      maxNewTokens: 10,
      temperature: 1.5,
      topP: 0.95,
      seed: 1,
    });
    expect((await sample(1))[1]).toEqual(alone);
  });

  it('ends at a stop sequence, which is cut from the text', async () => {
    const [full] = await base.generate([{ prompt: 'hello' }], { maxNewTokens: 16 });
    const text = full?.text ?? '';
    expect(text.length).toBeGreaterThan(6);
    const stop = text.slice(3, 6);
    const [cut] = await base.generate([{ prompt: 'hello' }], { maxNewTokens: 16, stop: [stop] });
    expect(cut?.finishReason).toBe('stop');
    expect(cut?.text).toBe(text.slice(0, text.indexOf(stop)));
  });

  it('streams the same text as generate, holding back a stop sequence', async () => {
    const [full] = await base.generate([{ prompt: 'the mat' }], { maxNewTokens: 14 });
    const pieces: string[] = [];
    for await (const piece of base.stream({ prompt: 'the mat' }, { maxNewTokens: 14 })) pieces.push(piece);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(full?.text);
    const text = full?.text ?? '';
    const stop = text.slice(5, 8);
    let streamed = '';
    for await (const piece of base.stream({ prompt: 'the mat' }, { maxNewTokens: 14, stop: [stop] }))
      streamed += piece;
    expect(streamed).toBe(text.slice(0, text.indexOf(stop)));
  });

  it('frees everything when a stream consumer stops reading early', async () => {
    const before = tf.memory().numTensors;
    for await (const piece of base.stream({ prompt: 'the cat' }, { maxNewTokens: 30 })) {
      expect(piece.length).toBeGreaterThan(0);
      break;
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops on an AbortSignal with finish reason "abort"', async () => {
    const controller = new AbortController();
    const pending = base.generate([{ prompt: 'the cat' }], { maxNewTokens: 80, signal: controller.signal });
    setImmediate(() => controller.abort());
    const [r] = await pending;
    expect(r?.finishReason).toBe('abort');
    expect(r?.tokens).toBeLessThan(80);
  });

  it('scores a completion by the chain rule of log-probabilities', async () => {
    const whole = await base.score({ prompt: 'the cat', completion: 'sat on' });
    const first = await base.score({ prompt: 'the cat', completion: 'sat' });
    const second = await base.score({ prompt: 'the cat sat', completion: 'on' });
    expect(whole).toBeLessThan(0);
    expect(Math.abs(whole - (first + second))).toBeLessThan(1e-4);
  });

  it('refuses a prompt that does not fit the context, naming the request', async () => {
    const long = Array.from({ length: 120 }, () => 'cat').join(' ');
    await expect(base.generate([{ prompt: 'hi' }, { prompt: long }])).rejects.toThrow(
      /request 1 has 121 prompt tokens; tiny-random holds 96 in all/,
    );
  });

  it('leaks no tensor across 100 generate calls', async () => {
    await base.generate([{ prompt: 'warm up' }], { maxNewTokens: 2 });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) {
      await base.generate([{ prompt: 'the cat' }, { prompt: 'a dog ran' }], {
        maxNewTokens: 3,
        temperature: 1,
        seed: i,
      });
    }
    await base.score({ prompt: 'the', completion: 'cat' });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('generation with adapters', () => {
  let model: LlamaModel;
  const adapters: AdapterWeights[] = [];
  beforeAll(async () => {
    await initBackend({ backend: 'cpu', log: () => {} });
    model = decisiveModel(9);
    // Two users' LoRAs with non-zero B (a fresh LoRA is a no-op).
    for (const seed of [1, 2]) {
      const lora = new LoraModel(
        { method: 'lora', r: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'] },
        model.dims,
        { seed },
      );
      const w = lora.toWeights();
      lora.dispose();
      const tensors = new Map(
        [...w.tensors].map(([name, t]) => [
          name,
          name.includes('lora_B')
            ? { ...t, data: Float32Array.from(t.data as Float32Array, (_, i) => Math.sin(i * seed + 1)) }
            : t,
        ]),
      );
      adapters.push({ config: w.config, tensors });
    }
  });
  afterAll(() => model.dispose());

  const single = (w: AdapterWeights) => {
    const lora = LoraModel.fromWeights(w, model.dims);
    return Object.assign(lora.asLinearAdapter(), { dispose: () => lora.dispose() });
  };

  it('groups requests by adapter, and a multi-adapter batch resolver gives the same results', async () => {
    const grouped = new TfBaseModel(model, tokenizer, { name: 't', hash: 'h', resolveAdapter: single });
    const requests = [
      { prompt: 'the cat', adapter: adapters[0] },
      { prompt: 'the cat' },
      { prompt: 'the cat', adapter: adapters[1] },
      { prompt: 'a dog', adapter: adapters[0] },
    ];
    const before = tf.memory().numTensors;
    const out = await grouped.generate(requests, { maxNewTokens: 8 });
    expect(tf.memory().numTensors).toBe(before);
    // Adapters change the output, and each result is what its request gets alone.
    expect(new Set(out.slice(0, 3).map((o) => o.text)).size).toBe(3);
    for (const [i, r] of requests.entries())
      expect((await grouped.generate([r], { maxNewTokens: 8 }))[0]).toEqual(out[i]);

    const multi = new TfBaseModel(model, tokenizer, {
      name: 't',
      hash: 'h',
      resolveBatch: (rows) => {
        const loras = adapters.map((w) => LoraModel.fromWeights(w, model.dims));
        const stack = MultiLora.fromAdapters(loras);
        for (const l of loras) l.dispose();
        const hooks = stack.asLinearAdapter(rows.map((w) => (w ? adapters.indexOf(w) : -1)));
        const release = hooks.dispose.bind(hooks);
        const dispose = () => {
          release();
          stack.dispose();
        };
        return Object.assign(hooks, { dispose });
      },
    });
    const outMulti = await multi.generate(requests, { maxNewTokens: 8 });
    expect(outMulti.map((o) => o.text)).toEqual(out.map((o) => o.text));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses an adapter when no resolver was given', async () => {
    const plain = new TfBaseModel(model, tokenizer, { name: 'plain', hash: 'h' });
    await expect(plain.generate([{ prompt: 'x', adapter: adapters[0] }])).rejects.toThrow(
      /plain: a request carries an adapter but this model was built without resolveAdapter/,
    );
  });

  it('prepends a soft prompt on the first step only (prompt tuning through prefixEmbeddings)', async () => {
    const soft = tf.randomNormal([1, 3, CONFIG.dim], 0, 1, 'float32', 4);
    const adapter = {
      linear: (_c: unknown, x: tf.Tensor3D, b: (x: tf.Tensor3D) => tf.Tensor3D) => b(x),
      prefixEmbeddings: (batch: number) => tf.tile(soft, [batch, 1, 1]) as tf.Tensor3D,
    };
    const prompt = tokenizer.encode('the cat');
    const [out] = await generateAll(model, [prompt], { maxNewTokens: 5, adapter });
    // Reference: full recomputation with the soft prompt, no cache.
    const ids = [...prompt];
    for (let i = 0; i < 5; i++) {
      const x = tf.tensor2d([ids], [1, ids.length], 'int32');
      const logits = model.forward(x, { adapter });
      expect(logits.shape[1]).toBe(3 + ids.length);
      const data = logits.dataSync();
      tf.dispose([x, logits]);
      ids.push(argmax(data.subarray((3 + ids.length - 1) * CONFIG.vocab)));
    }
    expect(out?.ids).toEqual(ids.slice(prompt.length));
    const cache = new KVCache();
    const x = tf.tensor2d([prompt], [1, prompt.length], 'int32');
    tf.dispose([model.forward(x, { adapter, cache })]);
    expect([cache.length, cache.prefixLength]).toEqual([3 + prompt.length, 3]);
    tf.dispose([x, soft]);
    cache.dispose();
  });
});

describe('TfBaseModel.load', () => {
  it('loads an HF folder with its tokenizer.json, and reports the checkpoint in info', async () => {
    await initBackend({ backend: 'cpu', log: () => {} });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'oppu-load-'));
    try {
      const arrays = randomLlamaArrays(CONFIG, 21);
      const hash = await saveHfCheckpoint(dir, CONFIG, arrays);
      await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
      await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokConfig));
      const before = tf.memory().numTensors;
      const loaded = await TfBaseModel.load(dir, { name: 'oppu/tiny-random' });
      expect(loaded.info).toEqual({
        name: 'oppu/tiny-random',
        hash,
        architecture: 'LlamaForCausalLM',
        parameters: loaded.model.numParameters,
        contextLength: 96,
        vocabSize: 80,
        hiddenSize: 32,
        numLayers: 2,
      });
      const direct = new TfBaseModel(new LlamaModel(CONFIG, arrays), tokenizer, { name: 'x', hash });
      const [a] = await loaded.generate([{ prompt: 'the dog' }], { maxNewTokens: 6 });
      const [b] = await direct.generate([{ prompt: 'the dog' }], { maxNewTokens: 6 });
      expect(a?.text).toBe(b?.text);
      loaded.dispose();
      direct.dispose();
      expect(tf.memory().numTensors).toBe(before);
      await expect(TfBaseModel.load(path.join(dir, 'model.safetensors'))).rejects.toThrow(); // not a .bin
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('asks for a tokenizer with a llama2.c checkpoint', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'oppu-load-bin-'));
    try {
      // A minimal valid llama2.c file: header + zero weights.
      const c = { dim: 8, hidden: 16, layers: 1, heads: 2, kvHeads: 2, vocab: 80, seq: 16 };
      const hd = c.dim / c.heads;
      const floats =
        c.vocab * c.dim +
        c.layers * (2 * c.dim + 4 * c.dim * c.dim + 3 * c.dim * c.hidden) +
        c.dim +
        c.seq * hd;
      const bytes = new Uint8Array(28 + floats * 4);
      new Int32Array(bytes.buffer, 0, 7).set([c.dim, c.hidden, c.layers, c.heads, c.kvHeads, c.vocab, c.seq]);
      const bin = path.join(dir, 'm.bin');
      await writeFile(bin, bytes);
      await expect(TfBaseModel.load(bin)).rejects.toThrow(
        /a llama2.c checkpoint has no tokenizer; pass options.tokenizer/,
      );
      const m = await TfBaseModel.load(bin, { tokenizer });
      expect(m.info.vocabSize).toBe(80);
      m.dispose();
      await writeFile(bin, bytes.subarray(0, bytes.length - 4));
      await expect(TfBaseModel.load(bin, { tokenizer })).rejects.toThrow(
        /the file is truncated or not a llama2.c legacy checkpoint/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
