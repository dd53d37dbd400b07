/**
 * Serving many users' adapters: generation throughput for a batch of 32 requests
 *   shared   - one LoRA for every request, one batch
 *   distinct - 32 different LoRAs, one batch (each row gathers its own adapter: BGMV)
 *   swapped  - 32 different LoRAs, request by request (load the user's adapter, generate, next)
 * plus the process's RSS after each mode and its peak so far, the process CPU time of a run (all threads: on a
 * shared machine the wall time depends on what else runs, the CPU time less), and the load average at the start.
 *
 *   pnpm bench:multi-adapter [--base DIR] [--requests 32] [--tokens 16] [--repeats 3] [--modes shared,distinct,swapped]
 *
 * Goal (issue 3): distinct <= 1.3 x shared, and distinct >= 8 x faster than swapped.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { OPPU_LORA } from '@oppu/core';
import { createEngine } from '@oppu/node';
import { createPeftMethod } from '@oppu/trainer';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    requests: { type: 'string', default: '32' },
    tokens: { type: 'string', default: '16' },
    repeats: { type: 'string', default: '3' },
    modes: { type: 'string', default: 'shared,distinct,swapped' },
  },
});
const n = Number(values.requests);
const maxNewTokens = Number(values.tokens);
const repeats = Number(values.repeats);
const modes = new Set(values.modes.split(','));

const engine = await createEngine({
  ...(values.base ? { baseModelDir: values.base } : {}),
  onLog: (l) => console.error(l),
});
const model = engine.model;
const dims = model.model.dims;

// 32 users' adapters: LoRA r 8 on q/v with random A and B (B is zero at initialisation; a trained adapter is not).
const adapters = Array.from({ length: n }, (_, i) => {
  const method = createPeftMethod(OPPU_LORA, dims, { seed: 100 + i });
  const w = method.toWeights({ baseModelNameOrPath: model.info.name });
  method.dispose();
  for (const [name, t] of w.tensors) {
    if (name.includes('lora_B')) {
      const d = t.data as Float32Array;
      for (let j = 0; j < d.length; j++) d[j] = Math.sin(i * 7919 + j) * 0.02;
    }
  }
  return w;
});
const prompts = Array.from(
  { length: n },
  (_, i) => `The ${['old', 'new', 'quiet', 'busy'][i % 4]} sea was ${i}`,
);
const options = { maxNewTokens, temperature: 0 };

async function time(label: string, fn: () => Promise<void>) {
  await fn(); // warm-up (also loads every adapter once)
  const times: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await fn();
    const c = process.cpuUsage(c0);
    times.push(performance.now() - t0);
    cpu.push((c.user + c.system) / 1000);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ms = median(times);
  const rss = process.memoryUsage().rss / 2 ** 20;
  const peak = process.resourceUsage().maxRSS / 1024;
  console.log(
    `${label.padEnd(9)} median ${ms.toFixed(0).padStart(6)} ms (cpu ${median(cpu).toFixed(0).padStart(6)} ms) for ${n} requests x ${maxNewTokens} tokens = ${((n * maxNewTokens) / (ms / 1000)).toFixed(0).padStart(5)} tokens/s, rss ${rss.toFixed(0)} MiB (peak so far ${peak.toFixed(0)} MiB)`,
  );
  return ms;
}

console.log(
  `base ${model.info.name}: ${(model.info.parameters / 1e6).toFixed(2)}M parameters, backend ${engine.backend}; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at the start`,
);
const skip = async () => Number.NaN;
const shared = await (modes.has('shared') ? time : skip)('shared', async () => {
  await model.generate(
    prompts.map((prompt) => ({ prompt, adapter: adapters[0]! })),
    options,
  );
});
const distinct = await (modes.has('distinct') ? time : skip)('distinct', async () => {
  await model.generate(
    prompts.map((prompt, i) => ({ prompt, adapter: adapters[i]! })),
    options,
  );
});
const swapped = await (modes.has('swapped') ? time : skip)('swapped', async () => {
  for (const [i, prompt] of prompts.entries())
    await model.generate([{ prompt, adapter: adapters[i]! }], options);
});
console.log(
  `distinct / shared = ${(distinct / shared).toFixed(2)}x (goal <= 1.3x); swapped / distinct = ${(swapped / distinct).toFixed(1)}x (goal >= 8x)`,
);
engine.dispose();
