import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTinyModel, modelDir, TINY_MODEL_NAME } from './index.js';

describe('@oppu/model-tiny', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('ships the HF folder within the size budget', () => {
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(statSync(join(modelDir, f)).isFile()).toBe(true);
    }
    expect(statSync(join(modelDir, 'model.safetensors')).size).toBeLessThan(30e6);
    const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
    expect(config.max_position_embeddings).toBeGreaterThanOrEqual(1024);
    expect(config.model_type).toBe('llama');
  });

  it('loads through @oppu/trainer as a BaseModel that prefers English to shuffled words', async () => {
    const base = await loadTinyModel();
    try {
      expect(base.info.name).toBe(TINY_MODEL_NAME);
      expect(base.info.contextLength).toBe(1024);
      expect(base.info.vocabSize).toBe(4096);
      const text = 'The President said that the Congress of the United States';
      expect(base.detokenize(base.tokenize(text))).toBe(text);
      const shuffled = 'States the said of President Congress United that The the';
      const prompt = { prompt: '' };
      const good = await base.score({ ...prompt, completion: text });
      const bad = await base.score({ ...prompt, completion: shuffled });
      expect(good).toBeGreaterThan(bad + 5);
      const [out] = await base.generate([{ prompt: 'Call me Ishmael.' }], {
        maxNewTokens: 8,
        temperature: 0,
      });
      expect(out!.tokens).toBeGreaterThan(0);
      expect(out!.text.length).toBeGreaterThan(0);
    } finally {
      base.dispose();
    }
  });
});
