import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_IA3, DEFAULT_PROMPT_TUNING, LAMP_TASKS, userId } from '@oppu/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalOppu, type LocalOppu } from './create-local-oppu.js';
import { writeTestCheckpoint } from './test-checkpoint.js';

const task = LAMP_TASKS.LaMP_7;
const alice = userId('alice');
const bob = userId('bob');
const aliceItems = [
  { id: 'a1', text: 'the cat sat on the mat' },
  { id: 'a2', text: 'the cat sat here' },
  { id: 'a3', text: 'a cat sat on a mat' },
];
const bobItems = [
  { id: 'b1', text: 'hello world the dog ran' },
  { id: 'b2', text: 'a dog ran here stop' },
];

let root: string;
let oppu: LocalOppu;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-node-'));
  await writeTestCheckpoint(join(root, 'model'));
  oppu = await createLocalOppu({
    home: join(root, 'home'),
    baseModelDir: join(root, 'model'),
    task: 'LaMP_7',
    training: { maxSteps: 6, learningRate: 3e-2, batchSize: 2, seed: 1 },
    onLog: () => {},
  });
});
afterAll(async () => {
  await oppu?.close();
  await rm(root, { recursive: true, force: true });
});

describe('createLocalOppu', () => {
  it("trains a user's adapter, stores it in PEFT layout and answers with it", async () => {
    await oppu.service.addItems(alice, aliceItems);
    const events: number[] = [];
    const meta = await oppu.service.train(alice, { onProgress: (e) => events.push(e.done) });
    expect(meta.version).toBe(1);
    expect(meta.training?.steps).toBe(6);
    expect(events.length).toBeGreaterThan(0);
    expect(await readdir(join(oppu.home, 'adapters', 'alice', 'v0001'))).toContain(
      'adapter_model.safetensors',
    );
    const config = JSON.parse(
      await readFile(join(oppu.home, 'adapters', 'alice', 'v0001', 'adapter_config.json'), 'utf8'),
    );
    expect(config).toMatchObject({
      peft_type: 'LORA',
      r: 8,
      lora_alpha: 8,
      target_modules: ['q_proj', 'v_proj'],
    });
    const input = task.formatInput({ text: 'the dog sat' });
    const personal = await oppu.service.ask(alice, input, { method: 'oppu' });
    expect(personal.adapterVersion).toBe(1);
    const base = await oppu.service.ask(alice, input, { method: 'base' });
    expect(base.adapterVersion).toBeUndefined();
    expect(personal.prompt).toBe(base.prompt);
  });

  it("serves several users' adapters in one batch exactly as one by one", async () => {
    await oppu.service.addItems(bob, bobItems);
    await oppu.service.train(bob);
    const a = (await oppu.adapters.get(alice))!.weights;
    const b = (await oppu.adapters.get(bob))!.weights;
    const prompts = ['the cat', 'hello world', 'a dog'];
    const requests = [
      { prompt: prompts[0]!, adapter: a },
      { prompt: prompts[1]!, adapter: b },
      { prompt: prompts[2]! },
      { prompt: prompts[0]!, adapter: b },
    ];
    const options = { maxNewTokens: 6, temperature: 0 };
    const together = await oppu.engine.model.generate(requests, options);
    const alone = [];
    for (const r of requests) alone.push((await oppu.engine.model.generate([r], options))[0]);
    expect(together.map((r) => r.text)).toEqual(alone.map((r) => r!.text));
  });

  it('trains IA3 and prompt-tuning adapters too, and serves them beside LoRA rows', async () => {
    const examples = aliceItems.map((it) => task.promptAnswer(it));
    const ia3 = await oppu.engine.trainAdapter(examples, { peft: DEFAULT_IA3, training: { maxSteps: 2 } });
    const prompt = await oppu.engine.trainAdapter(examples, {
      peft: DEFAULT_PROMPT_TUNING,
      training: { maxSteps: 2 },
    });
    expect(ia3.weights.config.peft_type).toBe('IA3');
    expect(prompt.weights.config.peft_type).toBe('PROMPT_TUNING');
    const lora = (await oppu.adapters.get(bob))!.weights;
    const requests = [
      { prompt: 'the cat', adapter: ia3.weights },
      { prompt: 'the cat', adapter: lora },
      { prompt: 'the cat', adapter: prompt.weights },
      { prompt: 'the cat' },
    ];
    const options = { maxNewTokens: 4, temperature: 0 };
    const together = await oppu.engine.model.generate(requests, options);
    for (const [i, r] of requests.entries()) {
      expect(together[i]!.text).toBe((await oppu.engine.model.generate([r], options))[0]!.text);
    }
  });

  it('forget leaves no adapter, history row or profile of the user', async () => {
    await oppu.service.forget(alice);
    expect(await oppu.service.versions(alice)).toEqual([]);
    expect(await oppu.service.items(alice)).toEqual([]);
    expect(await oppu.service.profile(alice)).toBeUndefined();
    expect(await readdir(join(oppu.home, 'adapters'))).toEqual(['bob']);
    expect((await oppu.service.items(bob)).length).toBe(2); // the other user is untouched
  });
});
