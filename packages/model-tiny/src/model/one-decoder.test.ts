import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { LlamaModel, loadHfCheckpoint } from '@oppu/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelDir } from '../index.js';

/**
 * Logits recorded before the two decoders became one (fixtures/decoder-logits.json, commit d75a2cb on the cpu
 * backend): the shipped checkpoint on a fixed prompt, from model-tiny's own pretraining decoder and from the
 * trainer's. The one decoder left must give the same values.
 */
interface Fixture {
  readonly prompt: number[];
  readonly columns: number[];
  readonly shipped: { readonly tinyLlama: number[][]; readonly trainerLlama: number[][] };
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

describe('one decoder: the shipped checkpoint', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

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
