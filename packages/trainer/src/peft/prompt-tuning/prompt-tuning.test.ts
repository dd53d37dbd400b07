import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { TINY_DIMS } from '../test-helpers.js';
import { PromptTuningModel } from './model.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('prompt tuning', () => {
  it('prepends N virtual tokens per batch row, random N(0,1) or from a text', () => {
    const pt = new PromptTuningModel({ method: 'prompt', numVirtualTokens: 3 }, TINY_DIMS, { seed: 1 });
    const prefix = pt.asLinearAdapter().prefixEmbeddings?.(2) as tf.Tensor3D;
    expect(prefix.shape).toEqual([2, 3, 8]);
    const rows = prefix.arraySync();
    expect(rows[0]).toEqual(rows[1]);
    expect(rows[0]).toEqual(pt.embeddings.arraySync());
    prefix.dispose();
    // a 2-token text fills 5 virtual tokens by repetition (PEFT), its rows in order
    const table = tf.tensor2d(
      Array.from({ length: 2 * 8 }, (_, i) => i),
      [2, 8],
    );
    const fromText = new PromptTuningModel(
      { method: 'prompt', numVirtualTokens: 5, initText: 'hi there' },
      TINY_DIMS,
      {
        initEmbeddings: () => table.clone(),
      },
    );
    const e = fromText.embeddings.arraySync();
    expect(e.map((r) => r[0])).toEqual([0, 8, 0, 8, 0]);
    expect(
      () => new PromptTuningModel({ method: 'prompt', numVirtualTokens: 2, initText: 'x' }, TINY_DIMS),
    ).toThrow(/initText needs the model's token embeddings/);
    const w = fromText.toWeights({ baseModelNameOrPath: 'oppu/tiny' });
    expect(w.config).toMatchObject({
      peft_type: 'PROMPT_TUNING',
      num_virtual_tokens: 5,
      token_dim: 8,
      prompt_tuning_init: 'TEXT',
      prompt_tuning_init_text: 'hi there',
      tokenizer_name_or_path: 'oppu/tiny',
      num_transformer_submodules: 1,
    });
    expect(w.tensors.get('prompt_embeddings')?.shape).toEqual([5, 8]);
    const back = PromptTuningModel.fromWeights(w, TINY_DIMS);
    expect(back.embeddings.arraySync()).toEqual(e);
    expect(back.config.initText).toBe('hi there');
    expect(() => PromptTuningModel.fromWeights(w, { ...TINY_DIMS, hiddenSize: 16 })).toThrow(
      /token_dim 8 does not match the model's hidden size 16/,
    );
    tf.dispose(table);
    for (const m of [pt, fromText, back]) m.dispose();
  });
});
