import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { LlamaModel, randomLlamaArrays } from '../model/llama.js';
import { initBackend } from './init-backend.js';

// Its own test file, hence its own process: the wasm module is created once per process, with its threads.
describe('multi-threaded wasm under Node', () => {
  it('starts the threaded SIMD binary with 2 XNNPACK threads and computes what cpu computes', async () => {
    const config = {
      dim: 64,
      hidden: 160,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      vocab: 96,
      maxSeqLen: 64,
      normEps: 1e-5,
      ropeTheta: 10000,
      ropeStyle: 'interleaved' as const,
      tiedEmbeddings: true,
    };
    const weights = randomLlamaArrays(config, 3);
    const ids = Array.from({ length: 4 * 32 }, (_, i) => (i * 37) % 96);
    const run = () => {
      const model = new LlamaModel(config, weights);
      const x = tf.tensor2d(ids, [4, 32], 'int32');
      const y = model.forward(x);
      const data = y.dataSync();
      tf.dispose([x, y]);
      model.dispose();
      return data;
    };
    await initBackend({ backend: 'cpu', log: () => {} });
    const want = run();
    const info = await initBackend({ backend: 'wasm', wasmThreads: 2, log: () => {} });
    expect(info.threads).toBe(2);
    const got = run();
    let maxDiff = 0;
    for (let i = 0; i < want.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs((want[i] as number) - (got[i] as number)));
    expect(maxDiff).toBeLessThan(1e-4);
    // A matmul big enough for XNNPACK to split across the threads.
    const a = tf.randomNormal([256, 192], 0, 1, 'float32', 1);
    const b = tf.randomNormal([192, 160], 0, 1, 'float32', 2);
    const c = tf.matMul(a, b).dataSync();
    const aa = a.dataSync();
    const bb = b.dataSync();
    let ref = 0;
    for (let k = 0; k < 192; k++) ref += (aa[7 * 192 + k] as number) * (bb[k * 160 + 11] as number);
    expect(Math.abs((c[7 * 160 + 11] as number) - ref)).toBeLessThan(1e-3);
    tf.dispose([a, b]);
  });
});
