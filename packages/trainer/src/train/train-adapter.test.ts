import '@tensorflow/tfjs-backend-cpu';
import { OPPU_LORA, OppuError, type ProgressEvent } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LlamaConfig, LlamaModel, randomLlamaArrays } from '../model/llama.js';
import { Ia3Model } from '../peft/ia3/model.js';
import { LoraModel } from '../peft/lora/model.js';
import { MultiLora } from '../peft/lora/multi.js';
import { PromptTuningModel } from '../peft/prompt-tuning/model.js';
import { maxAbsDiff } from '../peft/test-helpers.js';
import type { TrainingExample } from './batching.js';
import { trainAdapter } from './train-adapter.js';
import { trainAdapters } from './train-adapters.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A tiny random Llama (the real decoder, src/model/llama.ts): GQA 4 heads / 2 kv heads, tied head. */
const TINY: LlamaConfig = {
  dim: 16,
  hidden: 24,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  vocab: 12,
  maxSeqLen: 32,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'half',
  tiedEmbeddings: true,
};
const tinyModel = (seed: number) => {
  // N(0, 0.02) embeddings tie a head too weak to memorise anything; N(0, 0.2) lets a LoRA move the logits.
  const arrays = randomLlamaArrays(TINY, seed);
  return new LlamaModel(TINY, { ...arrays, embed: arrays.embed.map((v) => v * 10) });
};
const flatWeights = async (m: LlamaModel) => {
  const a = await m.toArrays();
  return [
    a.embed,
    a.norm,
    ...a.layers.flatMap((l) => [
      l.attnNorm,
      l.ffnNorm,
      l.q_proj,
      l.k_proj,
      l.v_proj,
      l.o_proj,
      l.gate_proj,
      l.up_proj,
      l.down_proj,
    ]),
  ];
};

const examples: TrainingExample[] = [
  { prompt: [1, 2, 3], answer: [7, 8] },
  { prompt: [4, 5], answer: [9, 10, 11] },
  { prompt: [6], answer: [2, 2] },
  { prompt: [3, 3, 3, 1], answer: [5] },
];

describe('trainAdapter', () => {
  let model: LlamaModel;
  let DIMS: LlamaModel['dims'];
  beforeAll(() => {
    model = tinyModel(1);
    DIMS = model.dims;
  });
  afterAll(() => model.dispose());

  it('memorises a small set with LoRA; base weights stay bitwise unchanged', async () => {
    const before = await flatWeights(model);
    const lora = new LoraModel(
      { ...OPPU_LORA, r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'] },
      DIMS,
      { seed: 1 },
    );
    const events: ProgressEvent[] = [];
    const res = await trainAdapter(
      model,
      lora,
      examples,
      { learningRate: 5e-2, maxSteps: 60, batchSize: 2, warmupRatio: 0.1, maxGradNorm: 1 },
      {
        onProgress: (e) => events.push(e),
      },
    );
    expect(res.steps).toBe(60);
    expect(res.losses[0]).toBeGreaterThan(1);
    expect(res.finalLoss).toBeLessThan((res.losses[0] as number) / 4);
    expect(events).toHaveLength(60);
    expect(events[59]).toMatchObject({ phase: 'train', done: 60, total: 60 });
    expect(events[10]?.tokensPerSecond).toBeGreaterThan(0);
    const after = await flatWeights(model);
    expect(after.length).toBe(before.length);
    for (const [i, w] of after.entries()) {
      const same = Buffer.from(w.buffer).equals(Buffer.from((before[i] as Float32Array).buffer));
      expect(same, `weight ${i}`).toBe(true);
    }
    lora.dispose();
  });

  it('is reproducible for a seed (data order and dropout) and differs across seeds', async () => {
    const run = async (seed: number) => {
      const lora = new LoraModel({ ...OPPU_LORA, r: 2, dropout: 0.3 }, DIMS, { seed: 3 });
      const r = await trainAdapter(model, lora, examples, {
        learningRate: 1e-2,
        maxSteps: 5,
        batchSize: 2,
        seed,
      });
      const w = lora.trainableVariables().map((v) => [...v.dataSync()]);
      lora.dispose();
      return { losses: r.losses, w };
    };
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    expect(b).toEqual(a);
    expect(c.losses).not.toEqual(a.losses);
  });

  it('accumulating 2 micro-batches of 2 equals one batch of 4 (same loss normalisation)', async () => {
    const run = async (batchSize: number, acc: number) => {
      const lora = new LoraModel({ ...OPPU_LORA, r: 2, dropout: 0 }, DIMS, { seed: 3 });
      const r = await trainAdapter(
        model,
        lora,
        examples,
        {
          learningRate: 1e-2,
          maxSteps: 3,
          batchSize,
          gradientAccumulationSteps: acc,
          warmupRatio: 0,
        },
        { groupByLength: false },
      );
      const w = lora.trainableVariables().flatMap((v) => [...v.dataSync()]);
      lora.dispose();
      return { r, w };
    };
    const one = await run(4, 1);
    const two = await run(2, 2);
    expect(two.r.steps).toBe(3);
    expect(maxAbsDiff(one.w, two.w)).toBeLessThan(1e-5);
    expect(Math.abs((one.r.losses[0] as number) - (two.r.losses[0] as number))).toBeLessThan(1e-5);
  });

  it('trains IA3 and prompt tuning too', async () => {
    const ia3 = new Ia3Model(
      { method: 'ia3', targetModules: ['k_proj', 'v_proj', 'down_proj'], feedforwardModules: ['down_proj'] },
      DIMS,
    );
    const r1 = await trainAdapter(model, ia3, examples, { learningRate: 5e-2, maxSteps: 30, batchSize: 4 });
    expect(r1.finalLoss).toBeLessThan(r1.losses[0] as number);
    const pt = new PromptTuningModel({ method: 'prompt', numVirtualTokens: 3 }, DIMS, { seed: 1 });
    const r2 = await trainAdapter(model, pt, examples, { learningRate: 5e-2, maxSteps: 30, batchSize: 4 });
    expect(r2.finalLoss).toBeLessThan(r2.losses[0] as number);
    ia3.dispose();
    pt.dispose();
  });

  it('stops cleanly on abort: AbortError, no leaked tensors, weights of the last finished step', async () => {
    const lora = new LoraModel({ ...OPPU_LORA, r: 2 }, DIMS, { seed: 3 });
    const n = tf.memory().numTensors;
    const controller = new AbortController();
    let seen = 0;
    const p = trainAdapter(
      model,
      lora,
      examples,
      { maxSteps: 50, batchSize: 2 },
      {
        signal: controller.signal,
        onProgress: (e) => {
          seen = e.done;
          if (e.done === 3) controller.abort();
        },
      },
    );
    await expect(p).rejects.toMatchObject({ name: 'AbortError', code: 'aborted' });
    await expect(p).rejects.toBeInstanceOf(OppuError);
    expect(seen).toBe(3);
    expect(tf.memory().numTensors).toBe(n);
    lora.dispose();
  });

  it('keeps tf.memory().numTensors flat across 100 steps', async () => {
    const lora = new LoraModel({ ...OPPU_LORA, r: 2 }, DIMS, { seed: 3 });
    const counts: number[] = [];
    const n = tf.memory().numTensors;
    await trainAdapter(
      model,
      lora,
      examples,
      { maxSteps: 100, batchSize: 2, gradientAccumulationSteps: 2 },
      {
        onProgress: () => counts.push(tf.memory().numTensors),
      },
    );
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(n);
    lora.dispose();
  });

  it('refuses bad examples and configs with clear errors', async () => {
    const lora = new LoraModel(OPPU_LORA, DIMS);
    await expect(trainAdapter(model, lora, [])).rejects.toThrow(/no examples/);
    await expect(trainAdapter(model, lora, [{ prompt: [1], answer: [] }])).rejects.toThrow(
      /example 0: the answer is empty/,
    );
    await expect(trainAdapter(model, lora, [{ prompt: [1], answer: [99] }])).rejects.toThrow(
      /token id 99 is outside the vocabulary \(0..11\)/,
    );
    await expect(
      trainAdapter(model, lora, [{ prompt: [1], answer: [2] }], {}, { eosId: 12 }),
    ).rejects.toThrow(/token id 12 is outside/);
    await expect(trainAdapter(model, lora, examples, { batchSize: 0 })).rejects.toThrow(
      /batchSize must be a positive integer/,
    );
    lora.dispose();
  });
});

describe('trainAdapters (several users in one batch)', () => {
  let model: LlamaModel;
  let DIMS: LlamaModel['dims'];
  beforeAll(() => {
    model = tinyModel(2);
    DIMS = model.dims;
  });
  afterAll(() => model.dispose());

  it('gives each user what training alone gives (own order, schedule, clipping, update)', async () => {
    const config = { ...OPPU_LORA, r: 2, alpha: 4, dropout: 0 };
    const users = [
      examples,
      [
        { prompt: [1, 1], answer: [3, 4, 5] },
        { prompt: [2], answer: [6] },
        { prompt: [9, 9, 9], answer: [1] },
      ],
    ];
    const training = { learningRate: 2e-2, epochs: 2, batchSize: 2, maxGradNorm: 0.3 };
    const multi = MultiLora.create(config, DIMS, [5, 6]);
    const results = await trainAdapters(model, multi, users, training);
    expect(results.map((r) => r.steps)).toEqual([4, 4]);
    for (const u of [0, 1]) {
      const solo = new LoraModel(config, DIMS, { seed: [5, 6][u] });
      const r = await trainAdapter(model, solo, users[u] as TrainingExample[], training);
      const mine = multi.adapter(u);
      for (const p of solo.allPairs()) {
        const q = mine.pair(p.layer, p.module);
        expect(
          maxAbsDiff(p.a.dataSync(), q?.a.dataSync() ?? []),
          `user ${u} ${p.layer}.${p.module}.A`,
        ).toBeLessThan(1e-4);
        expect(
          maxAbsDiff(p.b.dataSync(), q?.b.dataSync() ?? []),
          `user ${u} ${p.layer}.${p.module}.B`,
        ).toBeLessThan(1e-4);
      }
      expect(maxAbsDiff(r.losses, results[u]?.losses ?? [])).toBeLessThan(1e-4);
      solo.dispose();
      mine.dispose();
    }
    multi.dispose();
  });

  // Users of different sizes: A 4 items, B 6 (longer), C 1; batchSize 2, so micro-batches hold 1-2 rows per
  // user, the batch is padded to the longest user, and C drops out of the batch after its steps.
  const userB: TrainingExample[] = [
    { prompt: [1, 1, 2, 3, 5, 8], answer: [3, 4, 5] },
    { prompt: [2], answer: [6] },
    { prompt: [9, 9, 9], answer: [1, 2] },
    { prompt: [4, 4, 3, 2, 1, 0, 1, 2, 3], answer: [11, 10, 9] },
    { prompt: [7], answer: [7, 7, 7, 7] },
    { prompt: [5, 6, 7, 8, 9, 10], answer: [1] },
  ];
  const userC: TrainingExample[] = [{ prompt: [8, 8], answer: [4] }];
  const dropoutConfig = { ...OPPU_LORA, r: 2, alpha: 4, dropout: 0.3 };
  const dropoutTraining = { learningRate: 2e-2, epochs: 2, batchSize: 2, maxGradNorm: 0.3, seed: 9 };

  it('with LoRA dropout, each user gets the dropout masks and result of training alone', async () => {
    const users = [examples, userB, userC];
    const multi = MultiLora.create(dropoutConfig, DIMS, [5, 6, 7]);
    const results = await trainAdapters(model, multi, users, dropoutTraining);
    expect(results.map((r) => r.steps)).toEqual([4, 6, 2]);
    for (const u of [0, 1, 2]) {
      const solo = new LoraModel(dropoutConfig, DIMS, { seed: [5, 6, 7][u] });
      const r = await trainAdapter(model, solo, users[u] as TrainingExample[], dropoutTraining);
      const mine = multi.adapter(u);
      for (const p of solo.allPairs()) {
        const q = mine.pair(p.layer, p.module);
        const where = `user ${u} ${p.layer}.${p.module}`;
        expect(maxAbsDiff(p.a.dataSync(), q?.a.dataSync() ?? []), `${where}.A`).toBeLessThan(1e-4);
        expect(maxAbsDiff(p.b.dataSync(), q?.b.dataSync() ?? []), `${where}.B`).toBeLessThan(1e-4);
      }
      expect(maxAbsDiff(r.losses, results[u]?.losses ?? [])).toBeLessThan(1e-4);
      solo.dispose();
      mine.dispose();
    }
    // The comparison has teeth: the masks move the adapter by far more than the tolerance (here: none at all).
    const other = new LoraModel({ ...dropoutConfig, dropout: 0 }, DIMS, { seed: 5 });
    await trainAdapter(model, other, examples, dropoutTraining);
    const mine = multi.adapter(0);
    const moved = Math.max(
      ...other
        .allPairs()
        .map((p) => maxAbsDiff(p.b.dataSync(), mine.pair(p.layer, p.module)?.b.dataSync() ?? [])),
    );
    expect(moved).toBeGreaterThan(1e-3);
    other.dispose();
    mine.dispose();
    multi.dispose();
  });
});
