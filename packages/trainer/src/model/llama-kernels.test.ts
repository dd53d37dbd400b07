import { OPPU_LORA } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { installKernels, nativeKernels, uninstallKernels } from '../kernels/index.js';
import { LoraModel } from '../peft/lora/model.js';
import { trainAdapter } from '../train/train-adapter.js';
import { KVCache, type LlamaConfig, LlamaModel, randomLlamaArrays } from './llama.js';

// The decoder runs its element-wise steps through the fused kernels (embedding, rmsNorm, rope, swiglu,
// causalSoftmax). With the native addon on wasm each is one native pass forward and backward; elsewhere it is
// the plain-tf formula. Both must give the same model: same logits (causal and padded/cached paths) and the
// same LoRA training losses step for step.

const config = (ropeStyle: LlamaConfig['ropeStyle']): LlamaConfig => ({
  dim: 32,
  hidden: 48,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  vocab: 40,
  maxSeqLen: 32,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle,
  tiedEmbeddings: true,
});

let seed = 7;
const next = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
};
const examples = Array.from({ length: 8 }, (_, i) => ({
  prompt: Array.from({ length: 3 + (i % 5) }, () => 1 + next(39)),
  answer: Array.from({ length: 2 + (i % 4) }, () => 1 + next(39)),
}));

type Variant = 'cpu' | 'wasm, kernels off the addon' | 'wasm, native kernels';

async function use(variant: Variant): Promise<void> {
  await initBackend({ backend: variant === 'cpu' ? 'cpu' : 'wasm', log: () => {} });
  if (variant === 'wasm, kernels off the addon') installKernels({ native: false });
  if (variant === 'wasm, native kernels') expect(installKernels().matMul).toBe('native');
}

/** Logits of an unpadded batch (causal kernel), of a left-padded one, and of cached decoding (bias path). */
function logitsOf(model: LlamaModel): number[][] {
  const ids = tf.tensor2d([3, 9, 4, 1, 7, 2, 8, 5, 6, 3, 2, 1], [2, 6], 'int32');
  const unpadded = model.forward(ids);
  const mask = [
    [0, 0, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1],
  ];
  const padded = model.forward(ids, { attentionMask: mask });
  const cache = new KVCache();
  const first = tf.slice(ids, [0, 0], [2, 4]) as tf.Tensor2D;
  const rest = tf.slice(ids, [0, 4], [2, 2]) as tf.Tensor2D;
  tf.dispose(model.forward(first, { cache }));
  const cached = model.forward(rest, { cache });
  const out = [unpadded, padded, cached].map((t) => Array.from(t.dataSync()));
  tf.dispose([ids, unpadded, padded, first, rest, cached]);
  cache.dispose();
  return out;
}

async function run(variant: Variant, ropeStyle: LlamaConfig['ropeStyle']) {
  await use(variant);
  const c = config(ropeStyle);
  const arrays = randomLlamaArrays(c, 3);
  // N(0, 0.2) embeddings (not 0.02) so the logits, and the LoRA's effect on them, are not all near zero.
  const model = new LlamaModel(c, { ...arrays, embed: arrays.embed.map((v) => v * 10) });
  const logits = logitsOf(model);
  const lora = new LoraModel(
    {
      ...OPPU_LORA,
      r: 4,
      alpha: 8,
      dropout: 0.1,
      targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
    },
    model.dims,
    { seed: 1 },
  );
  const { losses } = await trainAdapter(model, lora, examples, {
    learningRate: 2e-2,
    maxSteps: 10,
    batchSize: 4,
    warmupRatio: 0,
  });
  lora.dispose();
  model.dispose();
  if (variant !== 'cpu') uninstallKernels();
  return { logits, losses };
}

function maxRelDiff(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return err / scale;
}

const addon = nativeKernels() !== null;
if (!addon) console.warn('llama-kernels: native addon not built; comparing cpu and wasm without it');
const variants: Variant[] = [
  'wasm, kernels off the addon',
  ...(addon ? (['wasm, native kernels'] as const) : []),
];

describe.each(['half', 'interleaved'] as const)('LlamaModel with the fused kernels (rope %s)', (style) => {
  it.each(variants)('gives the plain-tf (cpu) logits and LoRA training losses on %s', async (variant) => {
    const ref = await run('cpu', style);
    const got = await run(variant, style);
    for (const [i, l] of got.logits.entries())
      expect(maxRelDiff(l, ref.logits[i] as number[]), `logits ${i}`).toBeLessThan(1e-5);
    expect(got.losses).toHaveLength(10);
    expect(maxRelDiff(got.losses, ref.losses)).toBeLessThan(1e-5);
    // The run trains: a wiring error that froze the adapter would still match itself, not this.
    expect(ref.losses[9] as number).toBeLessThan((ref.losses[0] as number) * 0.9);
  });
});
