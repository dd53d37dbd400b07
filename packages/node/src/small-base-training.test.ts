import {
  LAMP_TASK_IDS,
  LAMP_TASKS,
  PromptFit,
  SMALL_BASE_TRAINING,
  synthesize,
  trainingExamples,
} from '@oppu/core';
import { describe, expect, it } from 'vitest';
import { createEngine, createRanker, createSummarizer } from './create-local-oppu.js';

// SMALL_BASE_TRAINING cuts training examples to 512 tokens for real data's long items; the claim in its doc and
// in docs/results.md is that the synthetic table's examples are all shorter, so the cut leaves the table alone.
describe('SMALL_BASE_TRAINING.maxLength', () => {
  it("leaves every training example of the table's synthetic users whole (the embedded model's tokens)", async () => {
    const engine = await createEngine({ onLog: () => {} });
    try {
      const fit = new PromptFit(engine.model, {});
      const ranker = createRanker();
      const summarizer = createSummarizer();
      let longest = 0;
      for (const task of LAMP_TASK_IDS) {
        const data = synthesize({ task, users: 8, items: 8, queries: 9, seed: 11 });
        const users = new Map(data.questions.map((q) => [q.user_id, q.profile]));
        for (const [userId, items] of users) {
          const profile = (await summarizer.summarize(userId, items, task)).text;
          for (const k of [0, 1]) {
            for (const ex of trainingExamples(LAMP_TASKS[task], items, { k, ranker, profile })) {
              longest = Math.max(longest, fit.count(ex.prompt) + fit.count(` ${ex.answer}`) + 1);
            }
          }
        }
      }
      expect(longest).toBeGreaterThan(100);
      expect(longest).toBeLessThanOrEqual(SMALL_BASE_TRAINING.maxLength);
    } finally {
      engine.dispose();
    }
  }, 120_000);
});
