import { describe, expect, it } from 'vitest';
import type {
  BaseModel,
  CandidateScores,
  GenerateRequest,
  SamplingOptions,
  ScoreRequest,
} from '../contracts/base-model.js';
import type { PeftEngine } from '../contracts/engine.js';
import type { AdapterWeights } from '../contracts/tensors.js';
import { LAMP_TASKS } from '../lamp/tasks.js';
import { fakeModelBasics } from '../testing/fake-model.js';
import { LAMP_SAMPLING, type PipelineQuestion, runLamp } from './run-lamp.js';

const tagOf = (w?: AdapterWeights) => (w as unknown as { tag?: string } | undefined)?.tag;

/**
 * A model whose scores prefer one label per user (the label named by the user's adapter, trained from the
 * user's history: the tag of their first item), with the others far behind; free generation gives text that
 * is no label at all. Records every call.
 */
function labelEngine() {
  const scoreCalls: ScoreRequest[][] = [];
  const generateCalls: { requests: GenerateRequest[]; options?: SamplingOptions }[] = [];
  const model: BaseModel = {
    ...fakeModelBasics(),
    generate: async (requests, options) => {
      generateCalls.push({ requests: [...requests], ...(options ? { options } : {}) });
      return requests.map(() => ({ text: ' the the the\nmore', tokens: 4, finishReason: 'stop' as const }));
    },
    scoreCandidates: async (requests): Promise<CandidateScores[]> => {
      scoreCalls.push([...requests]);
      return requests.map((r) => ({
        // The preferred label -0.5; the others -3 - 0.1 * index (so none ties).
        logProbs: r.candidates.map((c, i) => (c === tagOf(r.adapter) ? -0.5 : -3 - 0.1 * i)),
        tokens: r.candidates.map((c) => c.split(' ').length + 1),
      }));
    },
  };
  const engine: PeftEngine = {
    model,
    async trainAdapter(examples) {
      return {
        weights: { tag: examples[0]?.answer } as unknown as AdapterWeights,
        steps: 1,
        tokens: 1,
        finalLoss: 0.5,
        losses: [0.5],
        seconds: 0,
        cancelled: false,
      };
    },
    async mergeAdapter() {
      return engine;
    },
    dispose() {},
  };
  return { engine, scoreCalls, generateCalls };
}

const movie = LAMP_TASKS.LaMP_2M;
const ranker = { topK: () => [0] };
const moviesOf = (user: string, tag: string, n: number): PipelineQuestion[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `${user}-${i}`,
    user_id: user,
    input: movie.formatInput({ description: `film ${i} of ${user}` }),
    profile: [{ id: `${user}-h`, description: `a film ${user} saw`, tag }],
  }));

describe('runLamp answers label tasks from their label set', () => {
  it("answers each user's questions with the label their adapter prefers, every user in the same scoring calls", async () => {
    const { engine, scoreCalls, generateCalls } = labelEngine();
    // 20 questions: two batches of 16 + 4, each mixing the users' adapters.
    const questions = [...moviesOf('ann', 'dark comedy', 10), ...moviesOf('bo', 'true story', 10)];
    const result = await runLamp({ task: movie, method: 'oppu', engine, ranker, questions });
    expect(generateCalls).toHaveLength(0);
    expect(scoreCalls.map((c) => c.length)).toEqual([16, 4]);
    expect(new Set(scoreCalls[0]!.map((r) => tagOf(r.adapter)))).toEqual(
      new Set(['dark comedy', 'true story']),
    );
    for (const call of scoreCalls) for (const r of call) expect(r.candidates).toEqual(movie.labels);

    const answers = new Map(result.predictions.golds.map((g) => [g.id, g.output]));
    expect(answers.size).toBe(20);
    for (const [id, answer] of answers) {
      expect(movie.labels).toContain(answer);
      expect(answer).toBe(id.startsWith('ann') ? 'dark comedy' : 'true story');
      const p = result.probabilities!.get(id)!;
      expect(Object.keys(p)).toEqual(movie.labels);
      expect(Object.values(p).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      // softmax: e^-0.5 / (e^-0.5 + sum over the 14 others of e^(-3 - 0.1 i))
      expect(Math.max(...Object.values(p))).toBe(p[answer]);
    }
    const others = movie.labels
      .map((label, i) => (label === 'dark comedy' ? 0 : Math.exp(-3 - 0.1 * i)))
      .reduce((a, b) => a + b, 0);
    expect(result.probabilities!.get('ann-0')!['dark comedy']).toBeCloseTo(
      Math.exp(-0.5) / (Math.exp(-0.5) + others),
      12,
    );
  });

  it('answers a rating task with the expected rating, or with the most probable rating when asked', async () => {
    const rating = LAMP_TASKS.LaMP_3;
    const questions: PipelineQuestion[] = [
      { id: 'r1', user_id: 'cy', input: rating.formatInput({ text: 'fine kettle' }), profile: [] },
    ];
    const scored = labelEngine();
    // No history: no adapter, so no label is preferred; -3 - 0.1 i favours "1".
    const argmax = await runLamp({
      task: rating,
      method: 'oppu',
      engine: scored.engine,
      ranker,
      questions,
      labelChoice: { rating: 'argmax' },
    });
    expect(argmax.predictions.golds).toEqual([{ id: 'r1', output: '1' }]);
    const expected = await runLamp({
      task: rating,
      method: 'oppu',
      engine: scored.engine,
      ranker,
      questions,
    });
    const w = [0, 1, 2, 3, 4].map((i) => Math.exp(-0.1 * i));
    const mean = w.reduce((sum, x, i) => sum + x * (i + 1), 0) / w.reduce((a, b) => a + b, 0);
    expect(expected.predictions.golds[0]!.output).toBe(String(Math.round(mean * 100) / 100));
    expect(expected.probabilities!.get('r1')!['1']).toBeCloseTo(w[0]! / w.reduce((a, b) => a + b, 0), 12);
  });

  it('generates generation tasks with LAMP_SAMPLING (one line, anti-repetition) and gives no probabilities', async () => {
    const { engine, scoreCalls, generateCalls } = labelEngine();
    const tweet = LAMP_TASKS.LaMP_7;
    const questions: PipelineQuestion[] = [
      { id: 't1', input: tweet.formatInput({ text: 'rain again today' }), profile: [] },
    ];
    const result = await runLamp({ task: tweet, method: 'base', engine, ranker, questions, seed: 3 });
    expect(scoreCalls).toHaveLength(0);
    expect(generateCalls[0]!.options).toMatchObject({ ...LAMP_SAMPLING.generation, seed: 3 });
    // One line, and anti-repetition on (the values are tuned in LAMP_SAMPLING, not here).
    expect(LAMP_SAMPLING.generation.stop).toEqual(['\n']);
    expect(LAMP_SAMPLING.generation.repetitionPenalty).toBeGreaterThan(1);
    expect(LAMP_SAMPLING.generation.noRepeatNgramSize).toBeGreaterThan(0);
    expect(result.predictions.golds).toEqual([{ id: 't1', output: 'the the the' }]);
    expect(result.probabilities).toBeUndefined();
  });

  it('reports a cancel during scoring as a cancelled run', async () => {
    const { engine } = labelEngine();
    const controller = new AbortController();
    engine.model.scoreCandidates = async () => {
      controller.abort();
      throw new DOMException('aborted', 'AbortError');
    };
    await expect(
      runLamp({
        task: movie,
        method: 'base',
        engine,
        ranker,
        questions: moviesOf('ann', 'comedy', 2),
        signal: controller.signal,
      }),
    ).rejects.toMatchObject({ code: 'aborted' });
  });
});
