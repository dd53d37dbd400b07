import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type AdapterWeights, DEFAULT_IA3, OPPU_LORA, type TrainingExample } from '@oppu/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckpointFamily, writeRandomCheckpoint } from '../loaders/random-checkpoint.js';
import { TfPeftEngine } from './tf-peft-engine.js';

/**
 * Every checkpoint family through the engine, on tiny random checkpoints in the family's HF layout: LoRA, IA3
 * and prompt tuning train (the loss falls), their adapter files carry the family's module names (HF PEFT's
 * `base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight`), a batch of users each with their own
 * adapter decodes what each user gets alone, and batched LoRA training serves two users at once.
 */

const FAMILIES: CheckpointFamily[] = ['llama3', 'qwen2', 'mistral'];
const EXAMPLES: TrainingExample[] = [
  { prompt: 'the cat sat on', answer: 'the mat' },
  { prompt: 'the dog ran', answer: 'here' },
  { prompt: 'hello', answer: 'world' },
];
const TRAINING = { learningRate: 3e-2, maxSteps: 12, batchSize: 3, warmupRatio: 0, seed: 5 };

describe.each(FAMILIES)('%s checkpoint: adapters train, save and batch', (family) => {
  let dir: string;
  let engine: TfPeftEngine;
  let lora: AdapterWeights;
  beforeAll(async () => {
    process.env.OPPU_QUIET ??= '1';
    dir = await mkdtemp(path.join(os.tmpdir(), `oppu-${family}-`));
    await writeRandomCheckpoint(dir, family, { seed: 2 });
    engine = await TfPeftEngine.load(dir, { name: family });
  });
  afterAll(async () => {
    engine?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('LoRA trains on every projection, in PEFT layout with the family module names', async () => {
    const targets = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
    const r = await engine.trainAdapter(EXAMPLES, {
      peft: { ...OPPU_LORA, dropout: 0, targetModules: targets },
      training: TRAINING,
    });
    expect(r.finalLoss).toBeLessThan((r.losses[0] as number) * 0.8);
    lora = r.weights;
    const names = [...lora.tensors.keys()];
    expect(names).toContain('base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight');
    expect(names).toContain('base_model.model.model.layers.0.mlp.down_proj.lora_B.weight');
    expect(names).toHaveLength(2 * 2 * targets.length); // 2 layers, A and B
    const cfg = engine.model.model.config;
    const hd = cfg.headDim ?? cfg.dim / cfg.heads;
    // [out, r] for B: q_proj's out is heads * head_dim (Mistral's differs from hidden_size here).
    expect(lora.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')?.shape).toEqual(
      [cfg.heads * hd, OPPU_LORA.r],
    );
    expect(lora.config).toMatchObject({ peft_type: 'LORA', base_model_name_or_path: family });
  });

  it('IA3 and prompt tuning train too', async () => {
    const ia3 = await engine.trainAdapter(EXAMPLES, { peft: DEFAULT_IA3, training: TRAINING });
    expect(ia3.finalLoss).toBeLessThan(ia3.losses[0] as number);
    expect([...ia3.weights.tensors.keys()]).toContain(
      'base_model.model.model.layers.0.self_attn.k_proj.ia3_l',
    );
    const pt = await engine.trainAdapter(EXAMPLES, {
      peft: { method: 'prompt', numVirtualTokens: 4 },
      training: TRAINING,
    });
    expect(pt.finalLoss).toBeLessThan(pt.losses[0] as number);
  });

  it('a batch of users with their own adapters decodes what each gets alone', async () => {
    const options = { maxNewTokens: 5, temperature: 0 };
    const prompt = 'the cat sat on the mat and the dog ran here';
    const rows = [{ prompt, adapter: lora }, { prompt: 'hello' }, { prompt: 'the dog', adapter: lora }];
    const alone = [];
    for (const row of rows) alone.push((await engine.model.generate([row], options))[0]);
    expect(await engine.model.generate(rows, options)).toEqual(alone);
    // The adapter changes the answer: it is applied, not ignored.
    const base = await engine.model.generate([{ prompt: 'the cat sat on' }], options);
    const tuned = await engine.model.generate([{ prompt: 'the cat sat on', adapter: lora }], options);
    expect(tuned[0]?.text).not.toBe(base[0]?.text);
  });

  it('batched LoRA training serves two users at once', async () => {
    const [a, b] = await engine.trainAdapters([EXAMPLES.slice(0, 2), EXAMPLES.slice(2)], {
      peft: { ...OPPU_LORA, dropout: 0 },
      training: TRAINING,
    });
    for (const r of [a, b]) expect(r?.finalLoss).toBeLessThan(r?.losses[0] as number);
  });
});
