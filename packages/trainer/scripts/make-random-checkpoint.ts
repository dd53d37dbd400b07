/**
 * Writes a small random checkpoint in one family's exact HF layout (config.json, safetensors, tokenizer
 * files), for tests and comparisons with independent implementations (torch_reference.py, llama.cpp).
 *
 *   node --conditions source --import tsx packages/trainer/scripts/make-random-checkpoint.ts \
 *     --family qwen2 --out /tmp/qwen2-tiny [--dtype float32|float16|bfloat16] [--shards N] [--seed N] \
 *     [--shape tiny|smollm2-135m]
 */
import { parseArgs } from 'node:util';
import {
  CHECKPOINT_FAMILIES,
  type CheckpointFamily,
  SMOLLM2_135M_SIZES,
  writeRandomCheckpoint,
} from '../src/loaders/random-checkpoint.js';

const { values } = parseArgs({
  options: {
    family: { type: 'string' },
    out: { type: 'string' },
    dtype: { type: 'string' },
    shards: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    shape: { type: 'string', default: 'tiny' },
  },
});
const family = values.family as CheckpointFamily | undefined;
if (!family || !CHECKPOINT_FAMILIES.includes(family) || !values.out) {
  console.error(`usage: make-random-checkpoint --family ${CHECKPOINT_FAMILIES.join('|')} --out DIR`);
  process.exit(2);
}
if (values.shape !== 'tiny' && values.shape !== 'smollm2-135m') {
  console.error(`make-random-checkpoint: --shape must be tiny or smollm2-135m, got ${values.shape}`);
  process.exit(2);
}
const dtype = values.dtype as 'float32' | 'float16' | 'bfloat16' | undefined;
if (dtype !== undefined && !['float32', 'float16', 'bfloat16'].includes(dtype)) {
  console.error(`make-random-checkpoint: --dtype must be float32, float16 or bfloat16, got ${dtype}`);
  process.exit(2);
}
const config = await writeRandomCheckpoint(values.out, family, {
  seed: Number(values.seed),
  shards: Number(values.shards),
  ...(dtype ? { dtype } : {}),
  ...(values.shape === 'smollm2-135m' ? { sizes: SMOLLM2_135M_SIZES } : {}),
});
console.log(
  `${values.out}: ${(config.architectures as string[])[0]} (${family}), ${config.num_hidden_layers} layers, ` +
    `hidden ${config.hidden_size}, vocab ${config.vocab_size}, ${config.torch_dtype}`,
);
