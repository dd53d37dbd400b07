/**
 * User story: "we serve our users with llama.cpp (or Ollama), not with oppu's own decoder". An operator exports
 * the base model once and each user's LoRA adapter separately as GGUF (`oppu export-gguf`, here its
 * `exportGguf`), then serves `llama-cli -m base.gguf --lora user.gguf`. llama.cpp (node-llama-cpp 3.21.1, its
 * shipped CPU build) must tokenize the prompts to our ids and continue them with our greedy tokens, on the
 * embedded model, without and with the user's adapter; and the adapter must change what both write, so a
 * llama.cpp that ignored it could not pass.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdapterWeights, OPPU_LORA, type PeftEngine } from '@oppu/core';
import { createEngine, exportGguf } from '@oppu/node';
import { loraConfigToPeft, peftModulePath, saveAdapter } from '@oppu/trainer';
import { getLlama, type Llama, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { llamaCppGreedy } from './llama-cpp-greedy.js';

/** Prompts with spaces, punctuation, digits, an apostrophe, a newline, runs of spaces and non-ASCII text. */
const PROMPTS = [
  'Once upon a time',
  'The cat sat on the mat.',
  "I'll be there at 10:30, won't I?",
  'Dear team,\nthe report  is   late',
  'Café au lait — naïve résumé 🙂',
];
const NEW_TOKENS = 20;

let root: string;
let engine: PeftEngine;
let adapter: AdapterWeights;
let attention: AdapterWeights;
let llama: Llama;
let base: LlamaModel;
let eosId: number;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-gguf-'));
  engine = await createEngine({ onLog: () => {} });
  // A user's LoRA on every projection with rsLoRA scaling (q/k rows are permuted for llama.cpp's RoPE; the
  // scale alpha / sqrt(r) is written as llama.cpp's alpha / r), trained hard enough to change the output.
  const examples = ['my dog likes the park', 'we walk the dog at noon', 'the dog sleeps by the door'].map(
    (answer) => ({ prompt: 'Write about my day:', answer }),
  );
  const trained = await engine.trainAdapter(examples, {
    peft: {
      ...OPPU_LORA,
      targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      rslora: true,
    },
    training: { maxSteps: 12, learningRate: 2e-2, seed: 5 },
  });
  adapter = trained.weights;
  await saveAdapter(join(root, 'alice'), adapter);
  await exportGguf({ out: join(root, 'base.gguf') });
  await exportGguf({ adapterDir: join(root, 'alice'), out: join(root, 'alice.gguf') });
  attention = randomAttentionLora();
  await saveAdapter(join(root, 'bob'), attention);
  await exportGguf({ adapterDir: join(root, 'bob'), out: join(root, 'bob.gguf') });

  llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
  base = await llama.loadModel({ modelPath: join(root, 'base.gguf'), gpuLayers: 0 });
  eosId = base.tokens.eos as number;
});
afterAll(async () => {
  await llama?.dispose();
  engine?.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

/**
 * A LoRA on q_proj and k_proj only, with random A and B (a trained adapter's q/k update is small after a few
 * steps): its effect on the output goes through RoPE alone, so q/k rows in the wrong order would show.
 */
function randomAttentionLora(): AdapterWeights {
  const r = 8;
  const dim = 256;
  let s = 12345;
  const normal = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    const u = (s + 1) / 2147483649;
    s = (s * 1103515245 + 12345) % 2147483648;
    const v = (s + 1) / 2147483649;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const randn = (n: number, std: number) => Float32Array.from({ length: n }, () => normal() * std);
  const tensors = new Map<string, { dtype: 'float32'; shape: number[]; data: Float32Array }>();
  for (let layer = 0; layer < 4; layer++) {
    for (const m of ['q_proj', 'k_proj'] as const) {
      const p = peftModulePath(layer, m);
      tensors.set(`${p}.lora_A.weight`, { dtype: 'float32', shape: [r, dim], data: randn(r * dim, 0.15) });
      tensors.set(`${p}.lora_B.weight`, { dtype: 'float32', shape: [dim, r], data: randn(dim * r, 0.15) });
    }
  }
  const config = loraConfigToPeft({
    method: 'lora',
    r,
    alpha: 16,
    dropout: 0,
    targetModules: ['q_proj', 'k_proj'],
  });
  return { config, tensors };
}

async function oursGreedy(weights?: AdapterWeights) {
  const results = await engine.model.generate(
    PROMPTS.map((prompt) => ({ prompt, ...(weights ? { adapter: weights } : {}) })),
    { maxNewTokens: NEW_TOKENS, temperature: 0 },
  );
  return results.map((r) => ({
    promptIds: r.promptIds as number[],
    ids: (r.ids as number[]).filter((id) => id !== eosId),
  }));
}

describe('a base model and a user adapter exported to GGUF run in llama.cpp as in oppu', () => {
  it('llama.cpp tokenizes every prompt to our ids, BOS first', async () => {
    expect(base.tokens.bos).toBe(1);
    expect(base.tokens.shouldPrependBosToken).toBe(true);
    const ours = await oursGreedy();
    PROMPTS.forEach((prompt, i) => {
      const promptIds = ours[i]?.promptIds as number[];
      expect(promptIds[0]).toBe(1);
      expect([1, ...base.tokenize(prompt)], prompt).toEqual(promptIds);
      expect(base.detokenize(base.tokenize(prompt)), prompt).toBe(prompt);
    });
  });

  it('greedy tokens agree without an adapter and with each user adapter, and each adapter changes them', async () => {
    const plain = await oursGreedy();
    for (let i = 0; i < PROMPTS.length; i++) {
      const p = plain[i] as { promptIds: number[]; ids: number[] };
      expect(p.ids.length, PROMPTS[i]).toBeGreaterThan(0);
      expect(await llamaCppGreedy(base, p.promptIds, NEW_TOKENS), `base: ${PROMPTS[i]}`).toEqual(p.ids);
    }
    for (const [user, weights] of [
      ['alice', adapter],
      ['bob', attention],
    ] as const) {
      const personal = await oursGreedy(weights);
      let changed = 0;
      for (let i = 0; i < PROMPTS.length; i++) {
        const p = plain[i] as { promptIds: number[]; ids: number[] };
        const q = personal[i] as { promptIds: number[]; ids: number[] };
        const theirs = await llamaCppGreedy(base, q.promptIds, NEW_TOKENS, {
          lora: join(root, `${user}.gguf`),
        });
        expect(theirs, `${user}: ${PROMPTS[i]}`).toEqual(q.ids);
        if (q.ids.join() !== p.ids.join()) changed++;
      }
      expect(changed, user).toBeGreaterThanOrEqual(3);
    }
  });
});
