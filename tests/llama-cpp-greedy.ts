import type { LlamaModel, Token } from 'node-llama-cpp';

/**
 * llama.cpp's greedy continuation of `promptIds` (fed as ids, so tokenization is not in question), up to `n`
 * tokens, stopping at EOS (not included), optionally with a GGUF LoRA at scale 1; one thread, a fresh context.
 */
export async function llamaCppGreedy(
  model: LlamaModel,
  promptIds: readonly number[],
  n: number,
  options: { lora?: string; contextSize?: number } = {},
): Promise<number[]> {
  const eos = model.tokens.eos as number;
  const context = await model.createContext({
    contextSize: options.contextSize ?? 128,
    threads: 1,
    ...(options.lora ? { lora: { adapters: [{ filePath: options.lora, scale: 1 }] } } : {}),
  });
  try {
    const out: number[] = [];
    for await (const token of context.getSequence().evaluate(promptIds as Token[], { temperature: 0 })) {
      if (token === eos) break;
      out.push(token);
      if (out.length >= n) break;
    }
    return out;
  } finally {
    await context.dispose();
  }
}
