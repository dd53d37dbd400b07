// User story: members of a community chat through one LangChain model. Each is answered with their own adapter,
// history and profile; a batch serves them all in one forward pass with the answers they get one by one; a new
// adapter version is used as soon as it is trained, and a member who is forgotten is answered by the base model.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatLampInput, userId } from '@oppu/core';
import { createOppuChain, createTestOppu, type TestOppu } from '@oppu/langchain';
import { defaultBaseModelDir, writeTestCheckpoint } from '@oppu/node';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';

const members = {
  maya: [
    { id: 'm1', text: 'the cat sat on the mat' },
    { id: 'm2', text: 'a cat sat here' },
  ],
  omar: [
    { id: 'o1', text: 'hello world the dog ran' },
    { id: 'o2', text: 'the dog ran here' },
  ],
  lena: [{ id: 'l1', text: 'hello the mat' }],
};
const as = (user: string) => ({ configurable: { userId: user } });

let root: string;
let oppu: TestOppu;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-story-lc-'));
  let baseModelDir: string | undefined;
  if (!existsSync(join(defaultBaseModelDir(), 'config.json'))) {
    baseModelDir = join(root, 'model');
    await writeTestCheckpoint(baseModelDir);
  }
  oppu = await createTestOppu({
    users: members,
    train: ['maya', 'omar'],
    training: { maxSteps: 2, seed: 3 },
    ...(baseModelDir ? { baseModelDir } : {}),
  });
});
afterAll(async () => {
  await oppu?.close();
  await rm(root, { recursive: true, force: true });
});

it('serves every member from one model, batched in one forward pass, each with their own adapter', async () => {
  const question = formatLampInput('LaMP_7', { text: 'the dog sat on the mat' });
  const names = Object.keys(members);
  const alone = [];
  for (const name of names) alone.push(await oppu.model.invoke(question, { userId: name }));
  expect(alone.map((m) => m.response_metadata.method)).toEqual(['oppu+pag', 'oppu+pag', 'pag']);
  for (const [i, name] of names.entries()) {
    expect(alone[i]!.content).toBe((await oppu.service.ask(userId(name), question)).text);
  }

  const generate = vi.spyOn(oppu.engine.model, 'generate');
  const together = await oppu.model.batch(
    names.map(() => question),
    names.map(as),
  );
  expect(generate).toHaveBeenCalledTimes(1);
  generate.mockRestore();
  expect(together.map((m) => m.content)).toEqual(alone.map((m) => m.content));
  expect(together.map((m) => m.response_metadata.user_id)).toEqual(names);
});

it("a member's new adapter answers as soon as it is trained; a forgotten member gets the base model", async () => {
  const chain = createOppuChain(oppu.service, { k: 1 });
  const before = await oppu.model.invoke('the cat', { userId: 'lena' });
  expect(before.response_metadata.adapter_version).toBeUndefined();
  await oppu.service.train(userId('lena'));
  const after = await oppu.model.invoke('the cat', { userId: 'lena' });
  expect(after.response_metadata).toMatchObject({ method: 'oppu+pag', adapter_version: 1 });
  expect(typeof (await chain.invoke('the cat', as('lena')))).toBe('string');

  await oppu.service.train(userId('maya'));
  expect((await oppu.model.invoke('the cat', { userId: 'maya' })).response_metadata.adapter_version).toBe(2);

  await oppu.service.forget(userId('omar'));
  const generate = vi.spyOn(oppu.engine.model, 'generate');
  const forgotten = await oppu.model.invoke('the dog', { userId: 'omar' });
  // Nothing of Omar is left: no adapter, no history, no profile; the prompt is the question alone.
  expect(generate.mock.calls[0]![0]).toEqual([{ prompt: 'the dog' }]);
  generate.mockRestore();
  expect(forgotten.response_metadata).toMatchObject({ retrieved: [] });
  expect(forgotten.response_metadata.adapter_version).toBeUndefined();
  // Maya is untouched by Omar's removal.
  expect((await oppu.model.invoke('the cat', { userId: 'maya' })).response_metadata.adapter_version).toBe(2);
});
