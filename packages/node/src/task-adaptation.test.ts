import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAMP_TASKS } from '@oppu/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, createLocalOppu } from './create-local-oppu.js';
import { adaptToTask } from './task-adaptation.js';
import { writeTestCheckpoint } from './test-checkpoint.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-task-'));
  await writeTestCheckpoint(join(root, 'model'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const examples = [
  { id: '1', text: 'the cat sat on the mat' },
  { id: '2', text: 'a dog ran here' },
].map((it) => LAMP_TASKS.LaMP_7.promptAnswer(it));

describe('task adaptation (stage 1)', () => {
  it('merges a task LoRA into the base once, then reuses it while base and examples are unchanged', async () => {
    const base = await createEngine({ baseModelDir: join(root, 'model'), onLog: () => {} });
    const dir = join(root, 'task');
    const first = await adaptToTask(base, dir, { examples, training: { maxSteps: 3, learningRate: 1e-2 } });
    expect(first.trained).toBe(true);
    expect(first.engine.model.info.hash).not.toBe(base.model.info.hash);
    expect((await readdir(dir)).sort()).toEqual([
      'adapter_config.json',
      'adapter_model.safetensors',
      'oppu_task.json',
    ]);
    const second = await adaptToTask(base, dir, { examples, training: { maxSteps: 3, learningRate: 1e-2 } });
    expect(second.trained).toBe(false);
    expect(second.engine.model.info.hash).toBe(first.engine.model.info.hash);
    const prompt = { prompt: 'tweet:' };
    const a = await first.engine.model.generate([prompt], { maxNewTokens: 5, temperature: 0 });
    const b = await second.engine.model.generate([prompt], { maxNewTokens: 5, temperature: 0 });
    expect(b).toEqual(a);
    // Other examples: trained anew.
    const third = await adaptToTask(base, dir, { examples: examples.slice(0, 1), training: { maxSteps: 3 } });
    expect(third.trained).toBe(true);
    for (const e of [first.engine, second.engine, third.engine, base]) e.dispose();
  });

  it('createLocalOppu serves users on the task-adapted base', async () => {
    const local = await createLocalOppu({
      home: join(root, 'home'),
      baseModelDir: join(root, 'model'),
      taskAdaptation: { examples, training: { maxSteps: 2 } },
      onLog: () => {},
    });
    expect(local.engine.model.info.name).toMatch(/\+task$/);
    await local.close();
  });
});
