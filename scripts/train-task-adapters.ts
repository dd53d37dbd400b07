/**
 * Trains the task adapters (OPPU stage 1) shipped with the embedded base model, one per task, on a synthetic
 * population that no demo or test user comes from, and writes them to packages/model-tiny/task-adapters/<task>/
 * (PEFT layout + oppu_task.json naming the base model's hash). Services merge them into the base at start
 * (`createLocalOppu({ taskAdaptation: { prebuilt } })`), so a fresh machine answers in the task's format at once.
 *
 *   pnpm train-task-adapters [--tasks LaMP_2M,LaMP_7] [--steps 300] [--lr 0.01]
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type LampTaskId, lampTaskId } from '@oppu/core';
import {
  adaptToTask,
  createEngine,
  defaultBaseModelDir,
  shippedTaskAdapterDir,
  syntheticTaskExamples,
} from '@oppu/node';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: 'LaMP_2M,LaMP_7' },
    steps: { type: 'string', default: '300' },
    lr: { type: 'string', default: '0.01' },
  },
});
const engine = await createEngine({ onLog: (l) => console.error(l) });
for (const name of values.tasks!.split(',')) {
  const task: LampTaskId = lampTaskId(name, '--tasks');
  const dir = shippedTaskAdapterDir(defaultBaseModelDir(), task);
  await rm(dir, { recursive: true, force: true });
  const examples = syntheticTaskExamples(task);
  const t0 = performance.now();
  let last = '';
  const { engine: adapted } = await adaptToTask(engine, dir, {
    examples,
    training: { maxSteps: Number(values.steps), learningRate: Number(values.lr) },
    onProgress: (e) => {
      const line = `${task}: step ${e.done}/${e.total} loss ${e.loss?.toFixed(3) ?? '-'}`;
      if (e.done % 25 === 0 && line !== last) {
        last = line;
        console.error(line);
      }
    },
  });
  adapted.dispose();
  console.log(
    `${task}: ${examples.length} examples, ${values.steps} steps in ${((performance.now() - t0) / 1000).toFixed(0)} s -> ${join(dir)}`,
  );
}
engine.dispose();
