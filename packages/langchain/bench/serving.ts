// Serving benchmark: N users, each with their own adapter, asked one question each, through
// `OppuChatModel.batch` (one forward pass) and through N concurrent `invoke`s (one pass per request).
// Run: pnpm --filter @oppu/langchain bench [-- --users 32 --rounds 5 --tokens 16]
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultBaseModelDir, writeTestCheckpoint } from '@oppu/node';
import { createTestOppu } from '../src/index.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'), // pnpm passes its `--` through
  options: {
    users: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '5' },
    tokens: { type: 'string', default: '16' },
  },
});
const users = Number(values.users);
const rounds = Number(values.rounds);
const maxTokens = Number(values.tokens);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

const scratch = await mkdtemp(join(tmpdir(), 'oppu-bench-serving-'));
let baseModelDir = process.env.OPPU_BASE_MODEL_DIR;
let model = 'embedded tiny model';
if (!baseModelDir && !existsSync(join(defaultBaseModelDir(), 'config.json'))) {
  baseModelDir = join(scratch, 'model');
  await writeTestCheckpoint(baseModelDir);
  model = 'random test checkpoint (the embedded tiny model is not built in this checkout)';
} else if (baseModelDir) model = baseModelDir;

const words = ['the cat sat on the mat', 'hello world the dog ran', 'a dog ran here', 'the cat sat here'];
const histories = Object.fromEntries(
  Array.from({ length: users }, (_, u) => [
    `user${u}`,
    words.map((text, i) => ({ id: `${u}-${i}`, text: `${words[(u + i) % words.length]} ${text}` })),
  ]),
);
const oppu = await createTestOppu({
  users: histories,
  train: true,
  training: { maxSteps: 1 },
  model: { maxTokens },
  ...(baseModelDir ? { baseModelDir } : {}),
});
try {
  const names = Object.keys(histories);
  const question = (u: number) => words[u % words.length]!;
  // Warm-up: load every adapter into the service's cache and the engine.
  await oppu.model.batch(
    names.map((_, u) => question(u)),
    names.map((userId) => ({ userId })),
  );

  const batchLatencies: number[] = [];
  let batchTokens = 0;
  const batchStart = performance.now();
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const out = await oppu.model.batch(
      names.map((_, u) => question(u)),
      names.map((userId) => ({ userId })),
    );
    const ms = performance.now() - t0;
    for (const m of out) {
      batchLatencies.push(ms);
      batchTokens += m.usage_metadata?.output_tokens ?? 0;
    }
  }
  const batchSeconds = (performance.now() - batchStart) / 1000;

  const invokeLatencies: number[] = [];
  let invokeTokens = 0;
  const invokeStart = performance.now();
  for (let r = 0; r < rounds; r++) {
    await Promise.all(
      names.map(async (userId, u) => {
        const t0 = performance.now();
        const m = await oppu.model.invoke(question(u), { userId });
        invokeLatencies.push(performance.now() - t0);
        invokeTokens += m.usage_metadata?.output_tokens ?? 0;
      }),
    );
  }
  const invokeSeconds = (performance.now() - invokeStart) / 1000;

  const info = oppu.engine.model.info;
  console.log(`model: ${model} (${info.name}, ${info.parameters} parameters); ${cpus().length} CPUs`);
  console.log(`${users} users, each with their own adapter; ${rounds} rounds; up to ${maxTokens} new tokens`);
  const row = (name: string, n: number, seconds: number, tokens: number, lat: number[]) =>
    console.log(
      `${name.padEnd(20)} ${(n / seconds).toFixed(2).padStart(8)} req/s ${(tokens / seconds).toFixed(1).padStart(8)} tok/s` +
        `   p50 ${quantile(lat, 0.5).toFixed(0).padStart(6)} ms   p99 ${quantile(lat, 0.99).toFixed(0).padStart(6)} ms`,
    );
  row('batch', users * rounds, batchSeconds, batchTokens, batchLatencies);
  row('concurrent invoke', users * rounds, invokeSeconds, invokeTokens, invokeLatencies);
} finally {
  await oppu.close();
  await rm(scratch, { recursive: true, force: true });
}
