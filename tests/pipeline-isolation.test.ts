/**
 * User story: "my predictions never depend on anyone else's data". OPPU's released code trains user i's adapter
 * on the data of users 0..i; here a user's adapter, retrieval and profile read only that user's items.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAMP_TASKS, type LampQuestion, runLamp, synthesize } from '@oppu/core';
import { createEngine, createRanker, createSummarizer, writeTestCheckpoint } from '@oppu/node';
import type { TfPeftEngine } from '@oppu/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const task = LAMP_TASKS.LaMP_7;
let root: string;
let engine: TfPeftEngine;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-isolation-'));
  await writeTestCheckpoint(join(root, 'model'));
  engine = await createEngine({ baseModelDir: join(root, 'model'), onLog: () => {} });
});
afterAll(async () => {
  engine?.dispose();
  await rm(root, { recursive: true, force: true });
});

const targets = synthesize({ task: 'LaMP_7', users: 3, items: 4, queries: 2, seed: 11 });
const others = synthesize({ task: 'LaMP_7', users: 2, items: 3, queries: 2, seed: 99 });
const taskTrain = {
  questions: others.questions,
  golds: new Map(others.outputs.golds.map((g) => [g.id, g.output])),
};

function run(questions: readonly LampQuestion[]) {
  return runLamp({
    task,
    questions,
    method: 'oppu+pag',
    engine,
    ranker: createRanker(),
    summarizer: createSummarizer(),
    taskTrain,
    training: { maxSteps: 3, learningRate: 2e-2, maxLength: 1024 },
    sampling: { maxNewTokens: 6 },
    seed: 5,
  });
}

describe('isolation between users in the OPPU pipeline', () => {
  it("gives user A byte-identical predictions whatever the other users' items are", async () => {
    const userA = targets.questions[0]!.user_id;
    const aIds = new Set(targets.questions.filter((q) => q.user_id === userA).map((q) => q.id));
    const first = await run(targets.questions);

    // Every other target user's history is rewritten; user A's questions and history stay as they were.
    const changed = targets.questions.map((q) =>
      q.user_id === userA
        ? q
        : {
            ...q,
            profile: q.profile.map((p) => ({
              ...p,
              text: `stop here ${String(p.text).toUpperCase()} world`,
            })),
          },
    );
    const second = await run(changed);
    const pick = (r: Awaited<ReturnType<typeof run>>) => r.predictions.golds.filter((g) => aIds.has(g.id));
    expect(pick(second)).toEqual(pick(first));
    expect(JSON.stringify(pick(second))).toBe(JSON.stringify(pick(first)));
    // The check has teeth: the answers are not empty, and A's own history does change them.
    expect(pick(first).some((g) => g.output.length > 0)).toBe(true);
    const aChanged = targets.questions.map((q) =>
      q.user_id === userA
        ? { ...q, profile: q.profile.map((p) => ({ ...p, text: `hello ${p.text} the cat sat` })) }
        : q,
    );
    const third = await run(aChanged);
    expect(pick(third)).not.toEqual(pick(first));

    // ... and the same as when A is the only user in the run.
    const alone = await run(targets.questions.filter((q) => q.user_id === userA));
    expect(pick(alone)).toEqual(pick(first));
    // A's prompts carry A's own history only.
    for (const id of aIds) {
      const prompt = first.prompts.get(id)!;
      for (const q of changed.filter((x) => x.user_id !== userA)) {
        for (const item of q.profile) expect(prompt).not.toContain(String(item.text));
      }
    }
  });
});
