/**
 * Where one `generate` call of the multi-adapter bench spends its time, per tfjs kernel (`tf.profile`: each
 * kernel's wall time on the wasm backend; work done outside tfjs kernels, e.g. on the wasm heap, is not listed):
 *
 *   node --conditions source --import tsx bench/multi-adapter/profile.ts [--mode distinct|shared|single] [--stacked]
 *
 * `--stacked` serves the batch as the engine did before `bgmvAdd`: the batch's LoRAs stacked by
 * `MultiLora.fromAdapters` and routed with `multiLoraDelta` (a gather of every row's A and B per projection).
 */
import { parseArgs } from 'node:util';
import { OPPU_LORA } from '@oppu/core';
import { createEngine } from '@oppu/node';
import { type AdapterWeights, createPeftMethod, LoraModel, MultiLora, TfBaseModel } from '@oppu/trainer';
import { tf } from '../bench-env.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'distinct' },
    tokens: { type: 'string', default: '16' },
    stacked: { type: 'boolean', default: false },
  },
});
const engine = await createEngine({ onLog: () => {} });
const loaded = new Map<AdapterWeights, LoraModel>();
const model = values.stacked
  ? new TfBaseModel(engine.model.model, engine.model.tokenizer, {
      name: engine.model.info.name,
      hash: engine.model.info.hash,
      resolveBatch: (rows) => {
        const distinct = [...new Set(rows.filter((r): r is AdapterWeights => r !== undefined))];
        const loras = distinct.map((w) => {
          let l = loaded.get(w);
          if (!l) {
            l = LoraModel.fromWeights(w, engine.model.model.dims);
            loaded.set(w, l);
          }
          return l;
        });
        const stack = MultiLora.fromAdapters(loras);
        const hooks = stack.asLinearAdapter(rows.map((r) => (r ? distinct.indexOf(r) : -1)));
        return {
          linear: hooks.linear,
          dispose: () => {
            hooks.dispose();
            stack.dispose();
          },
        };
      },
    })
  : engine.model;
const n = values.mode === 'single' ? 1 : 32;
const adapters = Array.from({ length: 32 }, (_, i) => {
  const method = createPeftMethod(OPPU_LORA, model.model.dims, { seed: 100 + i });
  const w = method.toWeights({ baseModelNameOrPath: model.info.name });
  method.dispose();
  return w;
});
const requests = Array.from({ length: n }, (_, i) => ({
  prompt: `The ${['old', 'new', 'quiet', 'busy'][i % 4]} sea was ${i}`,
  adapter: adapters[values.mode === 'shared' ? 0 : i]!,
}));
const options = { maxNewTokens: Number(values.tokens), temperature: 0 };
await model.generate(requests, options); // warm-up
const t0 = performance.now();
const info = await tf.profile(async () => {
  await model.generate(requests, options);
});
const wall = performance.now() - t0;
const byKernel = new Map<string, { calls: number; ms: number }>();
for (const k of info.kernels) {
  if (k.name === 'unnamed scope') continue; // custom-gradient scopes: their kernels are listed on their own
  const e = byKernel.get(k.name) ?? { calls: 0, ms: 0 };
  e.calls++;
  e.ms += k.kernelTimeMs as number;
  byKernel.set(k.name, e);
}
console.log(
  `${values.mode}${values.stacked ? ' (stacked)' : ''}: ${n} requests, wall ${wall.toFixed(0)} ms while profiled`,
);
for (const [name, e] of [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12))
  console.log(`${name.padEnd(16)} ${String(e.calls).padStart(6)} calls ${e.ms.toFixed(1).padStart(8)} ms`);
for (const l of loaded.values()) l.dispose();
engine.dispose();
