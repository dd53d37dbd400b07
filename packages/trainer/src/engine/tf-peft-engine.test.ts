import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type AdapterWeights, OPPU_LORA } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveHfCheckpoint } from '../loaders/hf-checkpoint.js';
import { type LlamaConfig, randomLlamaArrays } from '../model/llama.js';
import { LoraModel } from '../peft/lora/model.js';
import { tinyTokenizerJson } from '../tokenizer/tiny-tokenizer.js';
import { TfPeftEngine } from './tf-peft-engine.js';

const CONFIG: LlamaConfig = {
  dim: 32,
  hidden: 48,
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

describe('TfPeftEngine serving many users (wasm)', () => {
  let dir: string;
  let engine: TfPeftEngine;
  let adapters: AdapterWeights[];
  beforeAll(async () => {
    process.env.OPPU_QUIET ??= '1';
    dir = await mkdtemp(path.join(os.tmpdir(), 'oppu-engine-'));
    const w = randomLlamaArrays(CONFIG, 4);
    for (const a of [w.embed, w.lmHead as Float32Array]) for (let i = 0; i < a.length; i++) a[i]! *= 60;
    await saveHfCheckpoint(dir, CONFIG, w);
    const { json, config } = tinyTokenizerJson();
    await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
    await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
    // One adapter loaded at a time: every other user's request evicts the last one.
    engine = await TfPeftEngine.load(dir, { name: 'tiny', maxLoadedAdapters: 1 });
    adapters = [1, 2, 3].map((seed) => {
      const l = new LoraModel(OPPU_LORA, engine.model.model.dims, { seed });
      for (const p of l.allPairs()) p.b.assign(tf.randomNormal(p.b.shape, 0, 2, 'float32', seed));
      const weights = l.toWeights({ baseModelNameOrPath: 'tiny' });
      l.dispose();
      return weights;
    });
  });
  afterAll(async () => {
    engine.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const options = { maxNewTokens: 6, temperature: 0 };

  it('keeps an adapter that an evicting request would free until its batch is done', async () => {
    const alone = [];
    for (const adapter of adapters)
      alone.push((await engine.model.generate([{ prompt: 'the cat', adapter }], options))[0]);
    // Interleaved decoding steps: each call loads its adapter, evicting the one still in use by another.
    const concurrent = await Promise.all(
      adapters.map(
        async (adapter) => (await engine.model.generate([{ prompt: 'the cat', adapter }], options))[0],
      ),
    );
    expect(concurrent).toEqual(alone);
    expect(new Set(alone.map((r) => r?.text)).size).toBe(3);
    // One batch of the three users gives each what it gets alone.
    const batched = await engine.model.generate(
      adapters.map((adapter) => ({ prompt: 'the cat', adapter })),
      options,
    );
    expect(batched).toEqual(alone);
  });

  it('leaks no tensor across 100 generate calls with adapters swapped in and out', async () => {
    await engine.model.generate([{ prompt: 'a dog', adapter: adapters[0]! }], { maxNewTokens: 2 });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) {
      const rows =
        i % 3 === 0
          ? adapters.map((adapter) => ({ prompt: 'a dog', adapter }))
          : [{ prompt: 'a dog', adapter: adapters[i % 3]! }];
      await engine.model.generate(rows, { maxNewTokens: 2 });
    }
    // Whatever adapter the LRU holds now (one), as before.
    expect(tf.memory().numTensors).toBe(before);
  });
});
