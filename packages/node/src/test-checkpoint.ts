import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LlamaConfig, randomLlamaArrays, saveHfCheckpoint, tinyTokenizerJson } from '@oppu/trainer';

const TOKENIZER = tinyTokenizerJson();
const TOKENIZER_VOCAB = Object.keys((TOKENIZER.json.model as { vocab: Record<string, number> }).vocab).length;

/**
 * A small random Llama checkpoint with a real (tiny) tokenizer, for tests of the engine's mechanics (not a
 * language model: its text is noise, but it trains, generates and batches exactly like a real one).
 */
export const TEST_CONFIG: LlamaConfig = {
  dim: 32,
  hidden: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  vocab: TOKENIZER_VOCAB,
  maxSeqLen: 1024,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'half',
  tiedEmbeddings: true,
};

export async function writeTestCheckpoint(dir: string, seed = 7): Promise<string> {
  const arrays = randomLlamaArrays(TEST_CONFIG, seed);
  // Larger weights than the default init make greedy choices decisive (no near-ties between runs).
  // Special tokens (ids 0-3) get zero embeddings so generation emits text rather than <unk>/<pad>.
  for (let i = 0; i < arrays.embed.length; i++) {
    arrays.embed[i] = i < 4 * TEST_CONFIG.dim ? 0 : (arrays.embed[i] as number) * 40;
  }
  const hash = await saveHfCheckpoint(dir, TEST_CONFIG, arrays);
  const { json, config } = TOKENIZER;
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(json));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return hash;
}
