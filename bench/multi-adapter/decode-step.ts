/**
 * CPU time of one prefill and of one decoding step, for a batch of 32 requests with 32 distinct LoRAs and for
 * one request with its LoRA (and both without adapters): where a batched step's time goes against a single
 * request's. CPU time (all threads) rather than wall time, so that a shared machine skews it less.
 *
 *   node --conditions source --import tsx bench/multi-adapter/decode-step.ts [--rounds 6]
 *
 * Prefill = a generate call of 1 new token; a step = (a call of 16 new tokens - prefill) / 15.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { OPPU_LORA } from '@oppu/core';
import { createEngine } from '@oppu/node';
import { createPeftMethod, generateAll, type LoraModel, loraBatchAdapter } from '@oppu/trainer';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '6' } } });
const rounds = Number(values.rounds);
const engine = await createEngine({ onLog: () => {} });
const llama = engine.model.model;
const loras = Array.from(
  { length: 32 },
  (_, i) => createPeftMethod(OPPU_LORA, llama.dims, { seed: 100 + i }) as LoraModel,
);
const prompt = engine.model.tokenizer.encode('The quiet sea was 12'); // with BOS

async function cpuOf(b: number, withAdapters: boolean, maxNewTokens: number): Promise<number> {
  const adapter = withAdapters
    ? loraBatchAdapter(
        loras.slice(0, b),
        loras.slice(0, b).map((_, i) => i),
      )
    : undefined;
  const prompts = Array.from({ length: b }, () => prompt);
  const c0 = process.cpuUsage();
  await generateAll(llama, prompts, { maxNewTokens, temperature: 0, ...(adapter ? { adapter } : {}) });
  const c = process.cpuUsage(c0);
  adapter?.dispose();
  return (c.user + c.system) / 1000;
}

console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at the start; prompt ${prompt.length} tokens`,
);
for (const [b, withAdapters] of [
  [32, true],
  [32, false],
  [1, true],
  [1, false],
] as const) {
  const n = b === 1 ? rounds * 4 : rounds;
  await cpuOf(b, withAdapters, 16); // warm-up
  let prefill = 0;
  let full = 0;
  for (let r = 0; r < n; r++) {
    prefill += await cpuOf(b, withAdapters, 1);
    full += await cpuOf(b, withAdapters, 16);
  }
  prefill /= n;
  full /= n;
  console.log(
    `batch ${String(b).padStart(2)} ${withAdapters ? `${b === 1 ? 'its own LoRA    ' : '32 distinct LoRAs'}` : 'no adapter      '}: prefill cpu ${prefill.toFixed(1).padStart(5)} ms, decoding step cpu ${((full - prefill) / 15).toFixed(2).padStart(5)} ms`,
  );
}
for (const l of loras) l.dispose();
engine.dispose();
