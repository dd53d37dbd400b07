import '@tensorflow/tfjs-backend-cpu';
import { OPPU_LORA } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAll } from '../../generate/generate-tokens.js';
import { useWasm } from '../../kernels/kernel-testing.js';
import { type LlamaConfig, LlamaModel, randomLlamaArrays } from '../../model/llama.js';
import { loraBatchAdapter } from './batch.js';
import { LoraModel } from './model.js';
import { MultiLora } from './multi.js';

const CONFIG: LlamaConfig = {
  dim: 32,
  hidden: 48,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  vocab: 40,
  maxSeqLen: 64,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'half',
  tiedEmbeddings: false,
};

const PROMPTS = [[1, 5, 7], [3, 9], [2, 2, 8, 4], [6], [1, 5, 7]];
const ROWS = [0, -1, 1, 2, 0]; // row 1: the base model; adapter 0 serves rows 0 and 4

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`loraBatchAdapter: each row through its own LoRA in one batch (${backend})`, () => {
    let model: LlamaModel;
    let loras: LoraModel[];
    beforeAll(async () => {
      if (backend === 'wasm') await useWasm();
      else await tf.setBackend('cpu');
      // Large weights so that greedy choices are decisive (no near-ties).
      const w = randomLlamaArrays(CONFIG, 9);
      for (const a of [w.embed, w.lmHead as Float32Array]) for (let i = 0; i < a.length; i++) a[i]! *= 60;
      model = new LlamaModel(CONFIG, w);
      // Three users' LoRAs with different ranks and targets, B far from zero so that they change the output.
      loras = [4, 8, 2].map((r, i) => {
        const targets = i === 2 ? ['q_proj', 'v_proj', 'down_proj'] : ['q_proj', 'v_proj'];
        const l = new LoraModel({ ...OPPU_LORA, r, alpha: 2 * r, targetModules: targets }, model.dims, {
          seed: 10 + i,
        });
        for (const p of l.allPairs())
          p.b.assign(tf.randomNormal(p.b.shape, 0, 3, 'float32', 20 + i + p.layer));
        return l;
      });
    });
    afterAll(() => {
      for (const l of loras) l.dispose();
      model.dispose();
    });

    const run = async (prompts: number[][], adapter: ReturnType<typeof loraBatchAdapter> | undefined) => {
      try {
        return (await generateAll(model, prompts, { maxNewTokens: 10, ...(adapter ? { adapter } : {}) })).map(
          (o) => o.ids,
        );
      } finally {
        adapter?.dispose();
      }
    };

    it('gives every row the tokens it gets alone, and the stacked multi-LoRA path agrees', async () => {
      const before = tf.memory().numTensors;
      const batched = await run(PROMPTS, loraBatchAdapter(loras, ROWS));
      for (const [i, p] of PROMPTS.entries()) {
        const r = ROWS[i]!;
        const alone = await run([p], r === -1 ? undefined : loraBatchAdapter([loras[r]!], [0]));
        expect(batched[i], `row ${i}`).toEqual(alone[0]);
      }
      // The adapters matter: the same prompt with and without adapter 0 differ.
      expect(batched[0]).not.toEqual((await run([PROMPTS[0]!], undefined))[0]);
      const stack = MultiLora.fromAdapters(loras);
      const hooks = stack.asLinearAdapter(ROWS);
      const viaStack = (await generateAll(model, PROMPTS, { maxNewTokens: 10, adapter: hooks })).map(
        (o) => o.ids,
      );
      hooks.dispose();
      stack.dispose();
      expect(viaStack).toEqual(batched);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('refuses a row that names no adapter, and a batch of another size', () => {
      expect(() => loraBatchAdapter(loras, [0, 3])).toThrow(/row 1 names adapter 3, there are 3/);
      const hooks = loraBatchAdapter(loras, [0, 1]);
      const ids = tf.tensor2d([[1, 2]], [1, 2], 'int32');
      expect(() => model.forward(ids, { adapter: hooks })).toThrow(/batch of 1 rows, adapter map has 2/);
      ids.dispose();
      hooks.dispose();
    });
  });
}
