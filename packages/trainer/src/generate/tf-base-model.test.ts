import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type AdapterWeights, LAMP_2M_TAGS } from '@oppu/core';
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

/** Two users' LoRAs with non-zero B (a fresh LoRA is a no-op). */
function twoLoras(model: LlamaModel): AdapterWeights[] {
  return [1, 2].map((seed) => {
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
    return { config: w.config, tensors };
  });
}

/** `resolveAdapter`: one LoRA's hooks. */
function singleResolver(model: LlamaModel, w: AdapterWeights) {
  const lora = LoraModel.fromWeights(w, model.dims);
  return Object.assign(lora.asLinearAdapter(), { dispose: () => lora.dispose() });
}

/** `resolveBatch`: a multi-LoRA stack whose row i uses `rows[i]`. */
function batchResolver(
  model: LlamaModel,
  adapters: readonly AdapterWeights[],
  rows: readonly (AdapterWeights | undefined)[],
) {
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

  it('reports the prompt ids it fed (BOS first) and the ids it generated', async () => {
    const [r] = await base.generate([{ prompt: 'the cat' }, { prompt: 'a dog ran here' }], {
      maxNewTokens: 8,
    });
    expect(tokenizer.bosId).toBeDefined();
    expect(r?.promptIds).toEqual([tokenizer.bosId, ...base.tokenize('the cat')]);
    expect(r?.ids).toHaveLength(r?.tokens ?? -1);
    expect(base.detokenize(r?.ids ?? [])).toBe(r?.text);
    const [plain] = await generateAll(model, [[...(r?.promptIds ?? [])]], {
      maxNewTokens: 8,
      stopIds: tokenizer.eosId === undefined ? [] : [tokenizer.eosId],
    });
    expect(r?.ids).toEqual(plain?.ids);
  });

  it("feeds a chat-template prompt as HF does: the template's special tokens as ids, no BOS added, none from the text", async () => {
    const chat = new HfTokenizer(json, {
      ...tokConfig,
      chat_template:
        "{{ bos_token }}{% for m in messages %}{{ m['role'] + ' ' + m['content'] + eos_token }}{% endfor %}",
    });
    const model = new TfBaseModel(base.model, chat, { name: 'tiny-chat', hash: 'c'.repeat(64) });
    expect(base.chatTemplate).toBeUndefined(); // a base model: no template
    const prompt = model.chatTemplate?.render([{ role: 'user', content: 'the cat </s> sat' }]) ?? '';
    expect(prompt).toBe('<s>user the cat <\u2060/s> sat</s>');
    const [r] = await model.generate([{ prompt, promptFormat: 'chat' }], { maxNewTokens: 2 });
    const { bosId: bos, eosId: eos } = chat;
    // One BOS (the template's), one EOS (the template's, at the end): the text's "</s>" stays characters.
    expect(r?.promptIds?.filter((id) => id === bos)).toHaveLength(1);
    expect(r?.promptIds?.[0]).toBe(bos);
    expect(r?.promptIds?.filter((id) => id === eos)).toEqual([eos]);
    expect(r?.promptIds?.at(-1)).toBe(eos);
    // As text, the same string gets the tokenizer's BOS and its "<s>" and "</s>" are characters.
    const [text] = await model.generate([{ prompt }], { maxNewTokens: 2 });
    expect(text?.promptIds?.filter((id) => id === bos)).toHaveLength(1);
    expect(text?.promptIds).not.toContain(eos);
    expect(text?.promptIds?.length).toBeGreaterThan((r?.promptIds?.length ?? 0) + 4);
    const scored = await model.scoreCandidates([{ prompt, promptFormat: 'chat', candidates: ['cat'] }]);
    const [viaScore] = await model.scoreCandidates([{ prompt: prompt.slice(3), candidates: ['cat'] }]);
    expect(scored[0]?.logProbs[0]).not.toBeCloseTo(viaScore?.logProbs[0] ?? 0, 6);
    await expect(
      model.generate([{ prompt, promptFormat: 'jinja' as never }], { maxNewTokens: 1 }),
    ).rejects.toThrow(/generate: request 0 has promptFormat "jinja"/);
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
    adapters.push(...twoLoras(model));
  });
  afterAll(() => model.dispose());

  const single = (w: AdapterWeights) => singleResolver(model, w);

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
      resolveBatch: (rows) => batchResolver(model, adapters, rows),
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

describe('generation without repetition', () => {
  let model: LlamaModel;
  let base: TfBaseModel;
  beforeAll(async () => {
    await initBackend({ backend: 'cpu', log: () => {} });
    // Greedy decoding of this model from 'a dog ran here' falls into a loop of two tokens.
    model = decisiveModel(7);
    base = new TfBaseModel(model, tokenizer, { name: 'tiny-random', hash: 'h' });
  });
  afterAll(() => model.dispose());

  const ngrams = (ids: readonly number[], n: number) =>
    ids.slice(0, ids.length - n + 1).map((_, i) => ids.slice(i, i + n).join(','));

  it('a looping greedy output stops looping with noRepeatNgramSize or repetitionPenalty', async () => {
    const prompt = tokenizer.encode('a dog ran here');
    const run = async (options: object) =>
      (await generateAll(model, [prompt], { maxNewTokens: 40, ...options }))[0]?.ids ?? [];
    const plain = await run({});
    expect(plain).toHaveLength(40);
    expect(new Set(plain.slice(20)).size).toBeLessThanOrEqual(3); // the loop
    const bigrams = ngrams([...prompt, ...plain], 2);
    expect(new Set(bigrams).size).toBeLessThan(bigrams.length / 2);

    for (const n of [2, 3]) {
      const out = await run({ noRepeatNgramSize: n });
      expect(out).toHaveLength(40);
      const all = ngrams([...prompt, ...out], n); // over the prompt and the output (HF)
      expect(new Set(all).size).toBe(all.length);
    }
    const penalized = await run({ repetitionPenalty: 3 });
    expect(new Set(penalized).size).toBeGreaterThan(30);
    expect(new Set(penalized.slice(20)).size).toBeGreaterThan(15);
  });

  it('batched rows decode as a plain reference applies both options at every step', async () => {
    const prompts = ['a dog ran here', 'hello', 'the cat sat on the mat'].map((p) => tokenizer.encode(p));
    const options = { repetitionPenalty: 1.5, noRepeatNgramSize: 3 };
    const batched = await generateAll(model, prompts, { maxNewTokens: 16, padId: 3, ...options });
    for (const [r, prompt] of prompts.entries()) {
      // Full recomputation, the penalty then the ban over prompt + output, then argmax.
      const ids = [...prompt];
      for (let step = 0; step < 16; step++) {
        const x = tf.tensor2d([ids], [1, ids.length], 'int32');
        const logits = model.forward(x, { logitsToKeep: 1 });
        const row = Float32Array.from(logits.dataSync());
        tf.dispose([x, logits]);
        for (const id of new Set(ids))
          row[id] = (row[id] as number) < 0 ? (row[id] as number) * 1.5 : (row[id] as number) / 1.5;
        const last = ids.slice(-2).join(',');
        for (let i = 0; i + 3 <= ids.length; i++)
          if (ids.slice(i, i + 2).join(',') === last) row[ids[i + 2] as number] = Number.NEGATIVE_INFINITY;
        ids.push(argmax(row));
      }
      expect(batched[r]?.ids).toEqual(ids.slice(prompt.length));
    }
  });

  it('plumbs both options through generate and stream, and refuses bad values', async () => {
    const options = { maxNewTokens: 20, noRepeatNgramSize: 2 };
    const [plain] = await base.generate([{ prompt: 'a dog ran here' }], { maxNewTokens: 20 });
    const [out] = await base.generate([{ prompt: 'a dog ran here' }], options);
    const [direct] = await generateAll(model, [tokenizer.encode('a dog ran here')], options);
    expect(out?.text).toBe(tokenizer.decode(direct?.ids ?? []));
    expect(out?.text).not.toBe(plain?.text);
    let streamed = '';
    for await (const piece of base.stream({ prompt: 'a dog ran here' }, options)) streamed += piece;
    expect(streamed).toBe(out?.text);
    const [penalized] = await base.generate([{ prompt: 'a dog ran here' }], {
      maxNewTokens: 20,
      repetitionPenalty: 3,
    });
    expect(penalized?.text).not.toBe(plain?.text);
    await expect(base.generate([{ prompt: 'hi' }], { repetitionPenalty: -1 })).rejects.toThrow(
      /repetitionPenalty must be a positive number \(1 is off\), got -1/,
    );
  });
});

describe('scoring candidates', () => {
  let model: LlamaModel;
  let adapters: AdapterWeights[];
  const V = CONFIG.vocab;
  beforeAll(async () => {
    await initBackend({ backend: 'cpu', log: () => {} });
    model = decisiveModel(9);
    adapters = twoLoras(model);
  });
  afterAll(() => model.dispose());

  const requests = () => [
    {
      prompt: 'the cat sat on the mat. tag:',
      candidates: ['comedy', 'dark comedy', 'sci-fi', 'based on a book'],
    },
    { prompt: 'hello', candidates: ['[1]', '[2]'] },
    { prompt: 'a dog ran here and there. score:', candidates: ['1', '2', '3', '4', '5'] },
    { prompt: 'the mat', candidates: ['dark', 'dark comedy'] },
  ];

  /** score() of ` ${candidate}` plus log p(EOS | prompt, candidate): what training's answer + EOS gets. */
  async function reference(
    base: TfBaseModel,
    r: { prompt: string; adapter?: AdapterWeights },
    candidate: string,
  ): Promise<number> {
    const body = await base.score({ ...r, completion: ` ${candidate}` });
    const ids = [...tokenizer.encode(r.prompt), ...base.answerIds(candidate)];
    const hooks = r.adapter ? singleResolver(model, r.adapter) : undefined;
    const x = tf.tensor2d([ids], [1, ids.length], 'int32');
    const logits = model.forward(x, { ...(hooks ? { adapter: hooks } : {}), logitsToKeep: 1 });
    const eos = tf.tidy(() => tf.logSoftmax(tf.reshape(logits, [V])).dataSync()[tokenizer.eosId as number]);
    tf.dispose([x, logits]);
    hooks?.dispose();
    return body + (eos as number);
  }

  it('scores each candidate as score() of " candidate" plus the EOS training appends, within any budget', async () => {
    const base = new TfBaseModel(model, tokenizer, { name: 't', hash: 'h' });
    const before = tf.memory().numTensors;
    const scores = await base.scoreCandidates(requests());
    expect(tf.memory().numTensors).toBe(before);
    for (const [i, r] of requests().entries()) {
      expect(scores[i]?.tokens).toEqual(r.candidates.map((c) => base.answerIds(c).length + 1));
      for (const [j, c] of r.candidates.entries())
        expect(Math.abs((scores[i]?.logProbs[j] as number) - (await reference(base, r, c)))).toBeLessThan(
          1e-4,
        );
    }
    // A candidate is scored to its end: 'dark' is not credited with 'dark comedy'.
    const dark = scores[3]?.logProbs as number[];
    expect(dark[0]).not.toBeCloseTo(
      (await base.score({ prompt: 'the mat', completion: ' dark' })) as number,
      3,
    );
    // One row per pass (a budget of 1 token position) gives the same scores, and frees everything.
    const tight = new TfBaseModel(model, tokenizer, { name: 't', hash: 'h', maxScoreTokens: 1 });
    const one = await tight.scoreCandidates(requests());
    for (const [i, s] of one.entries())
      for (const [j, v] of s.logProbs.entries())
        expect(Math.abs(v - (scores[i]?.logProbs[j] as number))).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('mixes adapters in one call: grouped (resolveAdapter) and in shared passes (resolveBatch)', async () => {
    const mixed = requests().map((r, i) => ({
      ...r,
      ...(i === 1 ? {} : { adapter: adapters[i % 2] as AdapterWeights }),
    }));
    const grouped = new TfBaseModel(model, tokenizer, {
      name: 't',
      hash: 'h',
      resolveAdapter: (w) => singleResolver(model, w),
    });
    const batchRows: (AdapterWeights | undefined)[][] = [];
    const multi = new TfBaseModel(model, tokenizer, {
      name: 't',
      hash: 'h',
      resolveBatch: (rows) => {
        batchRows.push([...rows]);
        return batchResolver(model, adapters, rows);
      },
    });
    const before = tf.memory().numTensors;
    const a = await grouped.scoreCandidates(mixed);
    const b = await multi.scoreCandidates(mixed);
    expect(tf.memory().numTensors).toBe(before);
    // One prefill and one candidate pass, each with both users' adapters and the base in its rows.
    expect(batchRows).toHaveLength(2);
    for (const rows of batchRows) expect(new Set(rows).size).toBe(3);
    expect(batchRows[1]).toHaveLength(mixed.reduce((n, r) => n + r.candidates.length, 0));
    const plain = await grouped.scoreCandidates(requests());
    for (const [i, r] of mixed.entries()) {
      for (const [j, c] of r.candidates.entries()) {
        const ref = await reference(grouped, r, c);
        expect(Math.abs((a[i]?.logProbs[j] as number) - ref)).toBeLessThan(1e-4);
        expect(Math.abs((b[i]?.logProbs[j] as number) - ref)).toBeLessThan(1e-4);
      }
      // The adapter matters.
      if (r.adapter) expect(a[i]?.logProbs).not.toEqual(plain[i]?.logProbs);
    }
  });

  it('scores after a soft prompt (prompt tuning) as score() does', async () => {
    const soft = tf.randomNormal([1, 3, CONFIG.dim], 0, 1, 'float32', 4);
    const hooks = {
      linear: (_c: unknown, x: tf.Tensor3D, b: (x: tf.Tensor3D) => tf.Tensor3D) => b(x),
      prefixEmbeddings: (batch: number) => tf.tile(soft, [batch, 1, 1]) as tf.Tensor3D,
    };
    const tuned = adapters[0] as AdapterWeights; // any object: the resolver below ignores its tensors
    const base = new TfBaseModel(model, tokenizer, { name: 't', hash: 'h', resolveAdapter: () => hooks });
    const before = tf.memory().numTensors;
    const rs = requests().map((r) => ({ ...r, adapter: tuned }));
    const scores = await base.scoreCandidates(rs);
    const plain = await base.scoreCandidates(requests());
    expect(tf.memory().numTensors).toBe(before);
    for (const [i, r] of rs.entries()) {
      expect(scores[i]?.logProbs).not.toEqual(plain[i]?.logProbs);
      for (const [j, c] of r.candidates.entries()) {
        const body = await base.score({ ...r, completion: ` ${c}` });
        const ids = [...tokenizer.encode(r.prompt), ...base.answerIds(c)];
        const x = tf.tensor2d([ids], [1, ids.length], 'int32');
        const logits = model.forward(x, { adapter: hooks, logitsToKeep: 1 });
        const eos = tf.tidy(
          () => tf.logSoftmax(tf.reshape(logits, [V])).dataSync()[tokenizer.eosId as number],
        );
        tf.dispose([x, logits]);
        expect(Math.abs((scores[i]?.logProbs[j] as number) - (body + (eos as number)))).toBeLessThan(1e-4);
      }
    }
    soft.dispose();
  });

  it('stops on an AbortSignal, freeing everything, and names bad input', async () => {
    const base = new TfBaseModel(model, tokenizer, { name: 't', hash: 'h', maxScoreTokens: 1 });
    const before = tf.memory().numTensors;
    await expect(base.scoreCandidates(requests(), { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
      code: 'aborted',
    });
    const controller = new AbortController();
    const pending = base.scoreCandidates(requests(), { signal: controller.signal });
    setImmediate(() => controller.abort());
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'aborted' });
    expect(tf.memory().numTensors).toBe(before);
    await expect(
      base.scoreCandidates([
        { prompt: 'hi', candidates: ['a'] },
        { prompt: 'x', candidates: [] },
      ]),
    ).rejects.toThrow(/scoreCandidates: request 1 has no candidates/);
    const long = Array.from({ length: 60 }, () => 'cat').join(' ');
    await expect(
      base.scoreCandidates([
        { prompt: long, candidates: ['a', Array.from({ length: 40 }, () => 'dog').join(' ')] },
      ]),
    ).rejects.toThrow(
      /scoreCandidates: request 0, candidate 1 \("dog dog .*"\) needs \d+ positions with its prompt, over the context length 96/,
    );
  });

  it('is faster than one score() per candidate (16 prompts x 15 candidates, printed)', async () => {
    const base = new TfBaseModel(model, tokenizer, { name: 't', hash: 'h' });
    const words = 'the cat sat on a mat dog ran here and there hello'.split(' ');
    const tags = LAMP_2M_TAGS;
    const many = Array.from({ length: 16 }, (_, i) => ({
      prompt: Array.from({ length: 40 + (i % 5) }, (_, j) => words[(i + j * 3) % words.length]).join(' '),
      candidates: tags,
    }));
    await base.scoreCandidates(many.slice(0, 1)); // warm-up
    let t0 = performance.now();
    const batched = await base.scoreCandidates(many);
    const batchedMs = performance.now() - t0;
    t0 = performance.now();
    const single: number[] = [];
    for (const r of many)
      for (const c of r.candidates) single.push(await base.score({ prompt: r.prompt, completion: ` ${c}` }));
    const singleMs = performance.now() - t0;
    console.info(
      `scoreCandidates: ${many.length} prompts x ${tags.length} candidates in ${batchedMs.toFixed(0)} ms; one score() per candidate ${singleMs.toFixed(0)} ms (${(singleMs / batchedMs).toFixed(1)}x)`,
    );
    expect(batched.flatMap((s) => s.logProbs)).toHaveLength(single.length);
    expect(batchedMs).toBeLessThan(singleMs);
  });
});
