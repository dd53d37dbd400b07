import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { writeDirAtomicSync } from '@oppu/core';
import { LlamaModel, loadHfCheckpoint } from '@oppu/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initialWeights } from '../pretrain/init-weights.js';
import { smallConfig } from './fixtures/small-config.js';
import { hfModelFiles, hfSafetensors } from './hf-export.js';
import { toDecoderConfig } from './llama-config.js';

const config = smallConfig();

describe('HF export', () => {
  let dir: string;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = join(mkdtempSync(join(tmpdir(), 'model-tiny-hf-')), 'model');
  });
  afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it("is read by @oppu/trainer's HF loader and gives the same logits as the trained decoder", async () => {
    const ours = new LlamaModel(toDecoderConfig(config), initialWeights(config, 11), { trainable: true });
    writeDirAtomicSync(dir, hfModelFiles(config, hfSafetensors(ours, 'float32'), { model: {} }, {}));
    const ckpt = await loadHfCheckpoint(dir);
    expect(ckpt.config).toMatchObject({
      dim: 32,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      vocab: 64,
      ropeStyle: 'half',
    });
    expect(ckpt.config.tiedEmbeddings).toBe(true);
    const theirs = new LlamaModel(ckpt.config, ckpt.weights);
    const ids = tf.tensor2d([[1, 17, 5, 40, 22, 9, 63, 2]], [1, 8], 'int32');
    const a = tf.tidy(() => ours.forward(ids).dataSync());
    const b = tf.tidy(() => theirs.forward(ids).dataSync());
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    expect(maxDiff).toBeLessThan(1e-4);
    ids.dispose();
    theirs.dispose();
    ours.dispose();
  });
});
