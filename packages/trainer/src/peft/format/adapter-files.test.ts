import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_IA3, OPPU_LORA } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensorsHeader } from '../../safetensors/read.js';
import { loadPeftMethod, validateAdapter } from '../create.js';
import { Ia3Model } from '../ia3/model.js';
import { LoraModel } from '../lora/model.js';
import { PromptTuningModel } from '../prompt-tuning/model.js';
import { TINY_DIMS } from '../test-helpers.js';
import { loadAdapter, saveAdapter } from './adapter-files.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'oppu-adapter-'));
  dirs.push(d);
  return d;
};

describe('HF PEFT adapter folders', () => {
  it('writes adapter_config.json exactly as PEFT LoraConfig.save_pretrained does', async () => {
    const lora = new LoraModel(OPPU_LORA, TINY_DIMS, { seed: 1 });
    const dir = await tempDir();
    await saveAdapter(dir, lora.toWeights({ baseModelNameOrPath: 'oppu/tiny-llama' }));
    const text = await readFile(join(dir, 'adapter_config.json'), 'utf8');
    // json.dumps(config, indent=2, sort_keys=True) of PEFT's LoraConfig fields
    expect(text).toBe(`{
  "alpha_pattern": {},
  "auto_mapping": null,
  "base_model_name_or_path": "oppu/tiny-llama",
  "bias": "none",
  "fan_in_fan_out": false,
  "inference_mode": true,
  "init_lora_weights": true,
  "layer_replication": null,
  "layers_pattern": null,
  "layers_to_transform": null,
  "loftq_config": {},
  "lora_alpha": 8,
  "lora_dropout": 0.05,
  "megatron_config": null,
  "megatron_core": "megatron.core",
  "modules_to_save": null,
  "peft_type": "LORA",
  "r": 8,
  "rank_pattern": {},
  "revision": null,
  "target_modules": [
    "q_proj",
    "v_proj"
  ],
  "task_type": "CAUSAL_LM",
  "use_dora": false,
  "use_rslora": false
}
`);
    const st = await readFile(join(dir, 'adapter_model.safetensors'));
    const header = readSafetensorsHeader(st);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect([...header.tensors.keys()].sort()).toEqual(
      [0, 1].flatMap((l) =>
        ['q_proj', 'v_proj'].flatMap((m) =>
          ['A', 'B'].map((ab) => `base_model.model.model.layers.${l}.self_attn.${m}.lora_${ab}.weight`),
        ),
      ),
    );
    for (const [name, info] of header.tensors) {
      expect(info.dtype, name).toBe('F32');
      expect(info.shape, name).toEqual(
        name.endsWith('lora_A.weight') ? [8, 8] : [name.includes('v_proj') ? 4 : 8, 8],
      );
    }
    lora.dispose();
  });

  it('round-trips LoRA, IA3 and prompt tuning values through the folder', async () => {
    const methods = [
      new LoraModel(
        { ...OPPU_LORA, r: 2, rslora: true, targetModules: ['q_proj', 'o_proj', 'up_proj'] },
        TINY_DIMS,
        {
          seed: 4,
        },
      ),
      new Ia3Model(DEFAULT_IA3, TINY_DIMS),
      new PromptTuningModel({ method: 'prompt', numVirtualTokens: 4 }, TINY_DIMS, { seed: 2 }),
    ];
    for (const m of methods) {
      for (const v of m.trainableVariables()) v.assign(tf.randomNormal(v.shape, 0, 1, 'float32', v.size + 1));
      const dir = await tempDir();
      await saveAdapter(dir, m.toWeights());
      const loaded = await loadAdapter(dir);
      const back = loadPeftMethod(loaded, TINY_DIMS, dir);
      expect(back.method).toBe(m.method);
      expect(back.config).toEqual(m.config);
      const a = m.trainableVariables();
      const b = back.trainableVariables();
      expect(b.length).toBe(a.length);
      for (let i = 0; i < a.length; i++)
        expect([...(b[i]?.dataSync() ?? [])]).toEqual([...(a[i]?.dataSync() ?? [])]);
      back.dispose();
      m.dispose();
    }
  });

  it('explains what is wrong with a broken or foreign adapter folder', async () => {
    const lora = new LoraModel(OPPU_LORA, TINY_DIMS, { seed: 1 });
    const dir = await tempDir();
    await expect(loadAdapter(dir)).rejects.toThrow(/adapter_config.json: cannot read \(ENOENT\)/);
    await saveAdapter(dir, lora.toWeights());
    const w = await loadAdapter(dir);
    expect(() => validateAdapter(w, { ...TINY_DIMS, numKeyValueHeads: 4 }, 'alice/v2')).toThrow(
      /alice\/v2: tensor "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight" has shape \[4, 8\], this model needs \[8, 8\]/,
    );
    expect(() => validateAdapter({ ...w, config: { ...w.config, peft_type: 'LOHA' } }, TINY_DIMS)).toThrow(
      /peft_type "LOHA" is not supported/,
    );
    await writeFile(join(dir, 'adapter_config.json'), '{"peft_type": ');
    await expect(loadAdapter(dir)).rejects.toThrow(/adapter_config.json: not valid JSON/);
    await writeFile(join(dir, 'adapter_model.safetensors'), new Uint8Array(3));
    await writeFile(join(dir, 'adapter_config.json'), '{}');
    await expect(loadAdapter(dir)).rejects.toThrow(/adapter_model.safetensors: file is 3 bytes/);
    lora.dispose();
  });
});
