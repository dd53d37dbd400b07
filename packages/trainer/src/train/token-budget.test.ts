import { OPPU_LORA } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { resetWasmHeapPeak, wasmHeapUsage } from '../backend/wasm-memory.js';
import { installKernels, uninstallKernels } from '../kernels/index.js';
import { type LlamaConfig, LlamaModel, randomLlamaArrays } from '../model/llama.js';
import { trainingBytesPerToken } from '../model/memory-budget.js';
import { LoraModel } from '../peft/lora/model.js';
import { MultiLora } from '../peft/lora/multi.js';
import { makeBatch, splitBatch, type TrainingExample } from './batching.js';
import { trainAdapter } from './train-adapter.js';
import { trainAdapters } from './train-adapters.js';

const CONFIG: LlamaConfig = {
  dim: 64,
  hidden: 128,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  vocab: 512,
  maxSeqLen: 512,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'half',
  tiedEmbeddings: true,
};
const ids = (n: number, salt: number) => Array.from({ length: n }, (_, t) => 5 + ((t * 13 + salt * 7) % 500));

describe('splitBatch', () => {
  it('cuts a batch into passes within the budget, each padded to its own longest row', () => {
    const examples: TrainingExample[] = [300, 280, 40, 30, 20].map((n, i) => ({
      prompt: ids(n, i),
      answer: [7, 8],
    }));
    const batch = makeBatch(examples, [0, 1, 2, 3, 4], 512, 0);
    const passes = splitBatch(batch, 700);
    expect(passes.map((p) => [p.rows, p.length])).toEqual([
      [2, 301],
      [3, 41],
    ]);
    expect(passes.reduce((s, p) => s + p.answerTokens, 0)).toBe(batch.answerTokens);
    expect(passes.reduce((s, p) => s + p.tokens, 0)).toBe(batch.tokens);
    expect(passes[1]!.inputs.subarray(0, 41)).toEqual(
      batch.inputs.subarray(2 * batch.length, 2 * batch.length + 41),
    );
    // A row longer than the budget is a pass of its own; a batch within it is itself.
    expect(splitBatch(batch, 100).map((p) => p.rows)).toEqual([1, 1, 2, 1]);
    expect(splitBatch(batch, 10_000)).toEqual([batch]);
  });
});

describe('training within a token budget', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', wasmThreads: 1, log: () => {} });
    installKernels();
  });
  afterAll(() => uninstallKernels());

  it('trains the same adapter in passes as in whole batches', async () => {
    const model = new LlamaModel(CONFIG, randomLlamaArrays(CONFIG, 2));
    const examples = [200, 150, 90, 60, 30, 10].map((n, i) => ({ prompt: ids(n, i), answer: [7, 8, 9] }));
    const run = async (maxBatchTokens?: number) => {
      const lora = new LoraModel({ ...OPPU_LORA, dropout: 0 }, model.dims, { seed: 4 });
      try {
        const r = await trainAdapter(
          model,
          lora,
          examples,
          { maxSteps: 3, batchSize: 6, learningRate: 1e-2 },
          maxBatchTokens ? { maxBatchTokens } : {},
        );
        return { losses: r.losses, w: lora.trainableVariables().map((v) => [...v.dataSync()]) };
      } finally {
        lora.dispose();
      }
    };
    try {
      const whole = await run(100_000);
      const passes = await run(256);
      for (const [i, l] of whole.losses.entries()) expect(passes.losses[i]).toBeCloseTo(l, 4);
      whole.w.forEach((w, i) => {
        const max = Math.max(...w.map((v, j) => Math.abs(v - (passes.w[i]![j] as number))));
        expect(max).toBeLessThan(1e-5);
      });
    } finally {
      model.dispose();
    }
  });

  it('keeps the memory of 16 users trained together in one call within the budget (it grew with the users)', async () => {
    const model = new LlamaModel(CONFIG, randomLlamaArrays(CONFIG, 3));
    const perUser = Array.from({ length: 16 }, (_, u) =>
      Array.from({ length: 2 }, (_, j) => ({
        prompt: ids(380 + ((u + j) % 5) * 20, u * 3 + j),
        answer: [7, 8],
      })),
    );
    const peakOf = async (maxBatchTokens?: number) => {
      const multi = MultiLora.create(
        { ...OPPU_LORA, dropout: 0 },
        model.dims,
        perUser.map(() => 1),
      );
      try {
        resetWasmHeapPeak();
        const before = wasmHeapUsage()!.liveBytes;
        const results = await trainAdapters(
          model,
          multi,
          perUser,
          { maxSteps: 1, batchSize: 2, learningRate: 1e-2 },
          maxBatchTokens ? { maxBatchTokens } : {},
        );
        expect(results.every((r) => Number.isFinite(r.finalLoss))).toBe(true);
        return wasmHeapUsage()!.peakBytes - before;
      } finally {
        multi.dispose();
      }
    };
    try {
      const budget = 1024;
      const bounded = await peakOf(budget);
      // The estimate the budget is made of holds, and the default (no option) stays under 1 GiB of activations.
      expect(bounded).toBeLessThan(budget * trainingBytesPerToken(model.dims, budget) + 16 * 2 ** 20);
      expect(await peakOf()).toBeLessThan(2 ** 30);
      // All 32 rows of 400+ tokens in one pass took some ten times as much.
      expect(await peakOf(1_000_000)).toBeGreaterThan(5 * bounded);
    } finally {
      model.dispose();
    }
  });
});

afterAll(() => {
  tf.disposeVariables();
});
