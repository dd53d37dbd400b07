import { describe, expect, it } from 'vitest';
import type { BaseModel } from '../contracts/base-model.js';
import type { PeftEngine, TextRanker, TrainingExample } from '../contracts/engine.js';
import { OppuError } from '../contracts/errors.js';
import type { HistoryItem } from '../contracts/history.js';
import type { AdapterWeights } from '../contracts/tensors.js';
import { LAMP_TASKS } from '../lamp/tasks.js';
import { type PipelineQuestion, runLamp } from './run-lamp.js';

const CONTEXT = 128;
/** Past this, tokenizing is what made a 2 MB "word" cost gigabytes: the fake refuses it. */
const MAX_TOKENIZED_CHARS = 200_000;

/**
 * An engine whose model counts whitespace-separated words as tokens and refuses what a real one cannot hold:
 * a prompt over its context (as TfBaseModel does: "request N has X prompt tokens; ... holds 128 in all"), and
 * a text so long that tokenizing it exhausts memory. Records the training examples and prompts it is given.
 */
function strictEngine() {
  const words: string[] = [];
  const ids = new Map<string, number>();
  const tokenize = (text: string) => {
    if (text.length > MAX_TOKENIZED_CHARS)
      throw new Error(`out of memory tokenizing ${text.length} characters`);
    return text
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => {
        if (!ids.has(w)) {
          ids.set(w, words.length);
          words.push(w);
        }
        return ids.get(w) as number;
      });
  };
  const trained: TrainingExample[][] = [];
  const prompts: string[] = [];
  const model: BaseModel = {
    info: {
      name: 'strict',
      hash: 'h',
      architecture: 'fake',
      parameters: 1,
      contextLength: CONTEXT,
      vocabSize: 1,
      hiddenSize: 1,
      numLayers: 1,
    },
    tokenize,
    detokenize: (list) => list.map((i) => words[i]).join(' '),
    async generate(requests, options) {
      return requests.map((r, i) => {
        const n = tokenize(r.prompt).length + 1; // BOS
        if (n + (options?.maxNewTokens ?? 128) > CONTEXT)
          throw new OppuError(
            'prompt_too_long',
            `generate: request ${i} has ${n} prompt tokens; strict holds ${CONTEXT} in all, so shorten the prompt`,
          );
        prompts.push(r.prompt);
        return { text: 'a headline', tokens: 2, finishReason: 'stop' as const };
      });
    },
    score: async () => 0,
    scoreCandidates: async () => [],
  };
  const engine: PeftEngine = {
    model,
    async trainAdapter(examples) {
      trained.push([...examples]);
      return {
        weights: {} as AdapterWeights,
        steps: 1,
        tokens: 1,
        finalLoss: 1,
        losses: [1],
        seconds: 0,
        cancelled: false,
      };
    },
    async mergeAdapter() {
      return engine;
    },
    dispose() {},
  };
  return { engine, trained, prompts, count: (t: string) => tokenize(t).length };
}

const task = LAMP_TASKS.LaMP_4;
const words = (n: number, w: string) => Array.from({ length: n }, (_, i) => `${w}${i % 97}`).join(' ');
const firstK: TextRanker = { topK: (docs, _q, k) => docs.slice(0, k).map((_, i) => i) };

describe('runLamp on long real-shaped texts', () => {
  it('finishes with every prompt within the context: items from 5 to 5,000 words and one 2 MB word', async () => {
    const { engine, trained, prompts, count } = strictEngine();
    const lengths = [5, 40, 300, 1200, 5000];
    const questions: PipelineQuestion[] = [];
    for (let u = 0; u < 3; u++) {
      const profile: HistoryItem[] = lengths.map((n, i) => ({
        id: `${u}-${i}`,
        text: u === 1 && i === 2 ? 'y'.repeat(2 * 2 ** 20) : words(n, `u${u}w`),
        title: words(6, `t${i}`),
      }));
      questions.push(
        { id: `${u}-short`, user_id: `user${u}`, input: task.formatInput({ text: 'a short one' }), profile },
        {
          id: `${u}-long`,
          user_id: `user${u}`,
          input: task.formatInput({ text: u === 2 ? 'z'.repeat(2 * 2 ** 20) : words(5000, 'q') }),
          profile,
        },
      );
    }
    const result = await runLamp({
      task,
      questions,
      method: 'oppu+rag',
      engine,
      ranker: firstK,
      sampling: { maxNewTokens: 12 },
    });
    expect(result.predictions.golds).toHaveLength(6);
    expect(prompts).toHaveLength(6);
    for (const p of prompts) expect(count(p) + 1 + 12).toBeLessThanOrEqual(CONTEXT);
    // Training examples fit the training length (the context here) with their answers.
    for (const ex of trained.flat())
      expect(count(ex.prompt) + count(` ${ex.answer}`) + 2).toBeLessThanOrEqual(CONTEXT);
    expect(trained.flat()).toHaveLength(15);
  });
});
