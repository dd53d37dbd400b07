/**
 * Training several users' adapters: one after another (`trainAdapter` per user) against together in shared
 * batches (`trainAdapters`, the multi-adapter kernel), on the embedded base model with OPPU's LoRA and synthetic
 * LaMP-7 histories. Same examples, same steps per user.
 *
 *   pnpm bench:multi-user-training [--users 8] [--items 8] [--epochs 2] [--base DIR]
 */
import { parseArgs } from 'node:util';
import { LAMP_TASKS, OPPU_LORA, synthesize } from '@oppu/core';
import { createEngine } from '@oppu/node';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '8' },
    items: { type: 'string', default: '8' },
    epochs: { type: 'string', default: '2' },
    base: { type: 'string' },
  },
});
const engine = await createEngine({ ...(values.base ? { baseModelDir: values.base } : {}), onLog: () => {} });
const task = LAMP_TASKS.LaMP_7;
const data = synthesize({
  task: 'LaMP_7',
  users: Number(values.users),
  items: Number(values.items),
  queries: 1,
  seed: 5,
});
const perUser = data.questions.map((q) => q.profile.map((it) => task.promptAnswer(it)));
const training = { epochs: Number(values.epochs), batchSize: 4, learningRate: 1e-2, seed: 1 };
const peft = { ...OPPU_LORA, dropout: 0 };
const examples = perUser.reduce((n, e) => n + e.length, 0);
console.log(
  `${perUser.length} users, ${examples} examples (${perUser.map((e) => e.length).join(', ')}), ${training.epochs} epochs, base ${engine.model.info.name}, backend ${engine.backend}`,
);

// Warm-up (kernels, gradients registration) outside the timings.
await engine.trainAdapter(perUser[0]!.slice(0, 2), { peft, training: { ...training, maxSteps: 1 } });

let t0 = performance.now();
let steps = 0;
for (const ex of perUser) steps += (await engine.trainAdapter(ex, { peft, training })).steps;
const sequential = (performance.now() - t0) / 1000;
console.log(`one after another: ${sequential.toFixed(1)} s (${steps} optimizer steps in all)`);

t0 = performance.now();
const results = await engine.trainAdapters!(perUser, { peft, training });
const together = (performance.now() - t0) / 1000;
console.log(
  `together (shared batches): ${together.toFixed(1)} s (${Math.max(...results.map((r) => r.steps))} shared steps)`,
);
console.log(`speed-up: ${(sequential / together).toFixed(2)}x`);
engine.dispose();
