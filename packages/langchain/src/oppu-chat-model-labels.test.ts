import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AIMessageChunk } from '@langchain/core/messages';
import { LAMP_TASKS, userId } from '@oppu/core';
import { defaultBaseModelDir, writeTestCheckpoint } from '@oppu/node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestOppu, type TestOppu } from './create-test-oppu.js';

const movie = LAMP_TASKS.LaMP_2M;
const films = (user: string, tag: string) =>
  ['a ship crew lost at sea', 'robots rule a city', 'two friends on a road trip'].map((description, i) => ({
    id: `${user}${i}`,
    description,
    tag,
  }));
const question = (description: string) => movie.formatInput({ description });

let root: string;
let oppu: TestOppu;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-lc-labels-'));
  let baseModelDir: string | undefined;
  if (!existsSync(join(defaultBaseModelDir(), 'config.json'))) {
    baseModelDir = join(root, 'model');
    await writeTestCheckpoint(baseModelDir);
  }
  oppu = await createTestOppu({
    task: 'LaMP_2M',
    users: { ann: films('ann', 'sci-fi'), bo: films('bo', 'true story'), cy: films('cy', 'comedy') },
    train: ['ann', 'bo'],
    training: { maxSteps: 2, learningRate: 3e-2, seed: 1 },
    ...(baseModelDir ? { baseModelDir } : {}),
  });
});
afterAll(async () => {
  await oppu?.close();
  await rm(root, { recursive: true, force: true });
});

const sum = (p: Record<string, number>) => Object.values(p).reduce((a, b) => a + b, 0);

describe('OppuChatModel on a label task', () => {
  it('answers a task question with a label, as service.ask does, with the labels probabilities', async () => {
    const generate = vi.spyOn(oppu.engine.model, 'generate');
    try {
      for (const user of ['ann', 'bo', 'cy']) {
        const input = question('a crew of robots at sea');
        const ask = await oppu.service.ask(userId(user), input);
        const out = await oppu.model.invoke(input, { userId: user });
        expect(movie.labels).toContain(out.content);
        expect(out.content).toBe(ask.text);
        expect(out.response_metadata.probabilities).toEqual(ask.probabilities);
        expect(sum(out.response_metadata.probabilities)).toBeCloseTo(1, 12);
        expect(out.response_metadata.finish_reason).toBe('stop');
        let streamed = '';
        for await (const chunk of await oppu.model.stream(input, { userId: user })) streamed += chunk.content;
        expect(streamed).toBe(ask.text);
      }
      expect(generate).not.toHaveBeenCalled();
    } finally {
      generate.mockRestore();
    }
  });

  it('batch scores every label question in one scoreCandidates call, each with its user adapter', async () => {
    const inputs = [question('robots'), question('a road trip'), question('lost at sea')];
    const users = ['ann', 'bo', 'cy'];
    const one: string[] = [];
    for (let i = 0; i < 3; i++)
      one.push((await oppu.model.invoke(inputs[i]!, { userId: users[i] })).content as string);
    const score = vi.spyOn(oppu.engine.model, 'scoreCandidates');
    try {
      const out = await oppu.model.batch(
        inputs,
        users.map((u) => ({ userId: u })),
      );
      expect(score).toHaveBeenCalledTimes(1);
      const requests = score.mock.calls[0]![0];
      expect(requests.map((r) => r.candidates)).toEqual([movie.labels, movie.labels, movie.labels]);
      expect(requests[0]!.adapter).toBeDefined();
      expect(requests[1]!.adapter).toBeDefined();
      expect(requests[0]!.adapter).not.toBe(requests[1]!.adapter);
      expect(requests[2]!.adapter).toBeUndefined(); // cy has no adapter
      expect(out.map((m) => (m as AIMessageChunk).content)).toEqual(one);
      for (const m of out) expect(movie.labels).toContain((m as AIMessageChunk).content);
    } finally {
      score.mockRestore();
    }
  });
});
