/**
 * Training several users' adapters: one after another (`trainAdapter` per user) against together in shared
 * batches (`trainAdapters`, the multi-adapter kernel), on the embedded base model with OPPU's LoRA and synthetic
 * LaMP histories (LaMP-7 by default; LaMP-5's are ~140 tokens). Same examples, same steps per user.
 *
 *   pnpm bench:multi-user-training [--users 8] [--items 8] [--epochs 2] [--task LaMP_7] [--dropout 0] [--base DIR]
 */
import { parseArgs } from 'node:util';
import { LAMP_TASKS, OPPU_LORA, synthesize } from '@oppu/core';
import { createEngine } from '@oppu/node';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '8' },
    items: { type: 'string', default: '8' },
    epochs: { type: 'string', default: '2' },
    task: { type: 'string', default: 'LaMP_7' },
    dropout: { type: 'string', default: '0' },
    base: { type: 'string' },
  },
});
const engine = await createEngine({ ...(values.base ? { baseModelDir: values.base } : {}), onLog: () => {} });
const taskName = values.task as keyof typeof LAMP_TASKS;
const task = LAMP_TASKS[taskName];
if (!task) throw new Error(`--task ${values.task}: not a LaMP task (${Object.keys(LAMP_TASKS).join(', ')})`);
const data = synthesize({
  task: taskName,
  users: Number(values.users),
  items: Number(values.items),
  queries: 1,
  seed: 5,
});
const perUser = data.questions.map((q) => q.profile.map((it) => task.promptAnswer(it)));
const training = { epochs: Number(values.epochs), batchSize: 4, learningRate: 1e-2, seed: 1 };
const peft = { ...OPPU_LORA, dropout: Number(values.dropout) };
const examples = perUser.reduce((n, e) => n + e.length, 0);
console.log(
  `${perUser.length} users, ${examples} ${taskName} examples (${perUser.map((e) => e.length).join(', ')}), ${training.epochs} epochs, LoRA dropout ${peft.dropout}, base ${engine.model.info.name}, backend ${engine.backend}`,
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
