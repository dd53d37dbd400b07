import { describe, expect, it } from 'vitest';
import type { BaseModel, CandidateScores, ScoreRequest } from '../contracts/base-model.js';
import type { PeftEngine, TrainAdapterOptions, TrainingExample } from '../contracts/engine.js';
import type { AdapterWeights } from '../contracts/tensors.js';
import { LAMP_TASKS } from '../lamp/tasks.js';
import { fakeModelBasics } from '../testing/fake-model.js';
import { type PipelineQuestion, runLamp } from './run-lamp.js';
import { assertDisjoint, TASK_LORA, TASK_TRAINING, taskAdaptationConfig } from './task-adaptation.js';

const weights = (tag: string) => ({ tag }) as unknown as AdapterWeights;

/** An engine that records what each stage trains on and which adapters are merged; answers '1' to everything. */
function recordingEngine() {
  const trained: { examples: TrainingExample[]; options: TrainAdapterOptions }[] = [];
  const merged: AdapterWeights[] = [];
  const model: BaseModel = {
    ...fakeModelBasics(),
    generate: async (reqs) => reqs.map(() => ({ text: '1', tokens: 1, finishReason: 'stop' as const })),
    scoreCandidates: async (reqs: readonly ScoreRequest[]): Promise<CandidateScores[]> =>
      reqs.map((r) => ({
        logProbs: r.candidates.map((c) => (c === '1' ? 0 : -5)),
        tokens: r.candidates.map(() => 1),
      })),
  };
  const engine: PeftEngine = {
    model,
    async trainAdapter(examples, options) {
      trained.push({ examples: [...examples], options });
      return {
        weights: weights(`t${trained.length}`),
        steps: 1,
        tokens: 1,
        finalLoss: 0.5,
        losses: [0.5],
        seconds: 0,
        cancelled: false,
      };
    },
    async mergeAdapter(w) {
      merged.push(w);
      return engine;
    },
    dispose() {},
  };
  return { engine, trained, merged };
}

const q = (id: string, user: string, text: string): PipelineQuestion => ({
  id,
  user_id: user,
  input: LAMP_TASKS.LaMP_3.formatInput({ text }),
  profile: [{ id: `${id}-h`, text: `${text} history`, score: '4' }],
});
const targets = [q('1', 'alice', 'lovely kettle'), q('2', 'bob', 'broken lamp')];
const common = { task: LAMP_TASKS.LaMP_3, method: 'base' as const, ranker: { topK: () => [0] } };

describe('stage 1 (task adaptation) never sees the target users', () => {
  it('runs without stage 1 when there is neither task-train data nor a task adapter', async () => {
    const { engine, trained, merged } = recordingEngine();
    const result = await runLamp({ ...common, engine, questions: targets });
    expect(result.taskAdaptation).toBe('none');
    expect(trained).toHaveLength(0);
    expect(merged).toHaveLength(0);
    // Every rating scored: the expected rating under the fake's scores (it prefers '1').
    for (const g of result.predictions.golds) expect(Number(g.output)).toBeLessThan(1.1);
  });

  it('merges a given task adapter as it is', async () => {
    const { engine, trained, merged } = recordingEngine();
    const shipped = weights('shipped');
    const result = await runLamp({ ...common, engine, questions: targets, taskAdapter: shipped });
    expect(result.taskAdaptation).toBe('prebuilt');
    expect(merged).toEqual([shipped]);
    expect(trained).toHaveLength(0);
  });

  it("trains stage 1 on other users' items and questions only, with the stage-1 configuration", async () => {
    const { engine, trained } = recordingEngine();
    const others = [q('10', 'carol', 'fine teapot'), q('11', 'dan', 'noisy fan')];
    const golds = new Map([
      ['10', '5'],
      ['11', '2'],
    ]);
    const result = await runLamp({
      ...common,
      engine,
      questions: targets,
      taskTrain: { questions: others, golds },
    });
    expect(result.taskAdaptation).toBe('trained');
    expect(trained).toHaveLength(1);
    const text = trained[0]!.examples.map((e) => `${e.prompt} ${e.answer}`).join('\n');
    expect(text).toContain('fine teapot');
    expect(text).toContain('noisy fan');
    expect(text).not.toContain('kettle');
    expect(text).not.toContain('lamp');
    expect(trained[0]!.options.peft).toEqual(TASK_LORA);
    expect(trained[0]!.options.training?.learningRate).toBe(TASK_TRAINING.learningRate);
  });

  it.each([
    ['a shared user id', [q('10', 'alice', 'fine teapot')], /user "alice"/],
    ['a shared question id', [q('2', 'carol', 'fine teapot')], /question id "2"/],
    [
      "a target user's history item",
      [{ ...q('10', 'carol', 'x'), profile: [{ id: '2-h', text: 'broken lamp history', score: '4' }] }],
      /also in the history of target user "bob"/,
    ],
  ])('refuses task-train data with %s', async (_name, others, message) => {
    const { engine, trained } = recordingEngine();
    const golds = new Map(others.map((o) => [o.id, '3']));
    await expect(
      runLamp({ ...common, engine, questions: targets, taskTrain: { questions: others, golds } }),
    ).rejects.toThrow(message);
    expect(trained).toHaveLength(0);
  });
});

describe('stage-1 configuration', () => {
  it('fills defaults and merges training overrides field by field', () => {
    const c = taskAdaptationConfig({ training: { maxSteps: 5 } });
    expect(c.peft).toBe(TASK_LORA);
    expect(c.training).toEqual({ ...TASK_TRAINING, maxSteps: 5 });
  });
  it('assertDisjoint passes disjoint sets (the same short text under other ids is not an overlap)', () => {
    expect(() =>
      assertDisjoint(
        [{ userId: 'a', items: [{ id: '1', text: 'x' }], questionIds: ['1'] }],
        [
          {
            userId: 'b',
            items: [
              { id: '1', text: 'y' },
              { id: '7', text: 'x' },
            ],
            questionIds: ['2'],
          },
        ],
      ),
    ).not.toThrow();
  });
});
