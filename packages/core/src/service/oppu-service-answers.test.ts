import { describe, expect, it } from 'vitest';
import type { AdapterStore } from '../contracts/adapter-store.js';
import type {
  BaseModel,
  ChatTemplate,
  GenerateRequest,
  SamplingOptions,
  ScoreRequest,
} from '../contracts/base-model.js';
import type { PeftEngine, TextRanker } from '../contracts/engine.js';
import type { HistoryItem, UserProfile } from '../contracts/history.js';
import type { HistoryStore } from '../contracts/history-store.js';
import type { TaskDefinition } from '../contracts/task.js';
import { type UserId, userId } from '../contracts/user.js';
import { LAMP_TASKS } from '../lamp/tasks.js';
import { questionPrompt } from '../pipeline/prompts.js';
import { LAMP_SAMPLING } from '../pipeline/run-lamp.js';
import { fakeModelBasics } from '../testing/fake-model.js';
import { OppuService, type OppuServiceOptions } from './oppu-service.js';

/** History in memory (what the service reads: list, count, profiles). */
function memoryHistory(): HistoryStore {
  const items = new Map<UserId, HistoryItem[]>();
  const profiles = new Map<string, UserProfile>();
  return {
    add: (u, add) => void items.set(u, [...(items.get(u) ?? []), ...add]),
    list: (u) => [...(items.get(u) ?? [])],
    count: (u) => items.get(u)?.length ?? 0,
    remove: () => 0,
    forget: (u) => void items.delete(u),
    users: () => [...items.keys()],
    putProfile: (p, task) => void profiles.set(`${p.userId}/${task}`, p),
    getProfile: (u, task) => profiles.get(`${u}/${task}`),
    deleteProfile: (u, task) => void profiles.delete(`${u}/${task}`),
    setSetting: () => {},
    getSetting: () => undefined,
  };
}

const noAdapters = {
  list: async () => [],
  get: async () => undefined,
} as unknown as AdapterStore;

/** Ranks by shared words with the query (ties: earlier first). */
const wordRanker: TextRanker = {
  topK(documents, query, k) {
    const q = new Set(query.toLowerCase().split(/\W+/));
    const hits = documents.map(
      (d) =>
        d
          .toLowerCase()
          .split(/\W+/)
          .filter((w) => q.has(w)).length,
    );
    return documents
      .map((_, i) => i)
      .sort((a, b) => hits[b]! - hits[a]! || a - b)
      .slice(0, k);
  },
};

/** A model that prefers `preferred` among any candidates and generates `text`; records its calls. */
function fakeModel(preferred: string, text = ' dark rainy day\nsecond line') {
  const scored: ScoreRequest[][] = [];
  const generated: { requests: GenerateRequest[]; options?: SamplingOptions }[] = [];
  const model: BaseModel = {
    ...fakeModelBasics(),
    generate: async (requests, options) => {
      generated.push({ requests: [...requests], ...(options ? { options } : {}) });
      return requests.map(() => ({ text, tokens: 4, finishReason: 'stop' as const }));
    },
    scoreCandidates: async (requests) => {
      scored.push([...requests]);
      return requests.map((r) => ({
        logProbs: r.candidates.map((c, i) => (c === preferred ? -1 : -2 - i / 10)),
        tokens: r.candidates.map(() => 2),
      }));
    },
  };
  const engine = { model } as unknown as PeftEngine;
  return { engine, scored, generated };
}

function service(task: TaskDefinition, engine: PeftEngine, extra: Partial<OppuServiceOptions> = {}) {
  return new OppuService({
    engine,
    task,
    adapters: noAdapters,
    history: memoryHistory(),
    ranker: wordRanker,
    ...extra,
  });
}

const ann = userId('ann');
const movie = LAMP_TASKS.LaMP_2M;
const films: HistoryItem[] = [
  { id: 'f1', description: 'a ship crew lost at sea', tag: 'action' },
  { id: 'f2', description: 'a robot city in the future', tag: 'sci-fi' },
];

describe('OppuService.ask on a label task', () => {
  it('answers one of the labels, with every label probability, from the prompt the pipeline builds', async () => {
    const { engine, scored, generated } = fakeModel('sci-fi');
    const s = service(movie, engine, { k: 1 });
    await s.addItems(ann, films);
    const input = movie.formatInput({ description: 'robots take over the city' });
    const answer = await s.ask(ann, input, { method: 'rag' });

    expect(generated).toHaveLength(0);
    expect(answer.text).toBe('sci-fi');
    expect(movie.labels).toContain(answer.text);
    expect(Object.keys(answer.probabilities!)).toEqual(movie.labels);
    expect(Object.values(answer.probabilities!).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // e^-1 against e^(-2 - i/10) for the 14 other labels (i their index)
    const rest = movie.labels
      .map((l, i) => (l === 'sci-fi' ? 0 : Math.exp(-2 - i / 10)))
      .reduce((a, b) => a + b, 0);
    expect(answer.probabilities!['sci-fi']).toBeCloseTo(Math.exp(-1) / (Math.exp(-1) + rest), 12);

    // The one prompt assembly: what the service scored is what runLamp would ask.
    const expected = questionPrompt(movie, input, films, { k: 1, ranker: wordRanker });
    expect(scored).toEqual([[{ prompt: expected, candidates: movie.labels }]]);
    expect(answer.prompt).toBe(expected);
    expect(answer.retrieved.map((it) => it.id)).toEqual(['f2']);
  });

  it("answers a rating with the service's or the call's label choice", async () => {
    const rating = LAMP_TASKS.LaMP_3;
    const input = rating.formatInput({ text: 'a fine kettle' });
    const { engine } = fakeModel('4');
    expect((await service(rating, engine).ask(ann, input)).text).toBe('4');
    const expected = service(rating, engine, { labelChoice: { rating: 'expected' } });
    const answer = await expected.ask(ann, input);
    const logp = ['1', '2', '3', '4', '5'].map((c, i) => (c === '4' ? -1 : -2 - i / 10));
    const p = logp.map((x) => Math.exp(x));
    const mean = p.reduce((sum, x, i) => sum + x * (i + 1), 0) / p.reduce((a, b) => a + b, 0);
    expect(answer.text).toBe(String(Math.round(mean * 100) / 100));
    expect((await expected.ask(ann, input, { labelChoice: { rating: 'argmax' } })).text).toBe('4');
  });

  it('chooseLabel is refused on a generation task', () => {
    const s = service(LAMP_TASKS.LaMP_7, fakeModel('x').engine);
    expect(s.labels).toBeUndefined();
    expect(() => s.chooseLabel({ logProbs: [0], tokens: [1] })).toThrow(
      'task LaMP_7 is answered by generation, not from labels',
    );
  });
});

describe('OppuService.ask on a generation task', () => {
  it('generates one line under LAMP_SAMPLING, cleaned as the pipeline cleans it', async () => {
    const tweet = LAMP_TASKS.LaMP_7;
    const { engine, scored, generated } = fakeModel('x');
    const answer = await service(tweet, engine).ask(ann, tweet.formatInput({ text: 'rain again' }), {
      method: 'base',
    });
    expect(scored).toHaveLength(0);
    expect(generated[0]!.options).toEqual(LAMP_SAMPLING.generation);
    expect(answer.text).toBe('dark rainy day');
    expect(answer.probabilities).toBeUndefined();
  });
});

/** ChatML, as Qwen2.5's and SmolLM2's templates write it (the trainer tests the real templates). */
const chatml: ChatTemplate = {
  render: (messages, options) =>
    messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') +
    (options?.addGenerationPrompt === false ? '' : '<|im_start|>assistant\n'),
  parseToolCalls: (text) => ({ content: text, toolCalls: [] }),
};

describe('OppuService with an instruct model (a chat template)', () => {
  function instruct(preferred: string, info: Parameters<typeof fakeModelBasics>[0] = {}) {
    const fake = fakeModel(preferred);
    Object.assign(
      fake.engine.model,
      { chatTemplate: chatml },
      info ? { info: fakeModelBasics(info).info } : {},
    );
    return fake;
  }

  it("asks a task question as a system message (the user's profile and history) and the task prompt as the user's turn", async () => {
    const { engine, scored } = instruct('sci-fi');
    const history = memoryHistory();
    const s = service(movie, engine, { k: 1, history });
    await s.addItems(ann, films);
    await history.putProfile(
      { userId: ann, text: 'Likes robots.', itemCount: 2, updatedAt: new Date().toISOString() },
      movie.id,
    );
    const input = movie.formatInput({ description: 'robots take over the city' });
    const answer = await s.ask(ann, input, { method: 'pag' });
    const line = movie.historyLine(films[1]!).trimEnd();
    const taskPrompt = questionPrompt(movie, input, [], { k: 0 });
    const expected = `<|im_start|>system\nLikes robots.\n${line}<|im_end|>\n<|im_start|>user\n${taskPrompt}<|im_end|>\n<|im_start|>assistant\n`;
    expect(scored).toEqual([[{ prompt: expected, promptFormat: 'chat', candidates: movie.labels }]]);
    expect(answer.prompt).toBe(expected);
    expect(answer.text).toBe('sci-fi');
  });

  it('prepares a conversation: system text first, earlier turns, the question last and ranked against the history', async () => {
    const { engine } = instruct('x');
    const s = service(movie, engine, { k: 1 });
    await s.addItems(ann, films);
    const prepared = await s.prepare(
      ann,
      {
        text: 'ignored for an instruct model',
        messages: [
          { role: 'system', content: 'Answer briefly.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello!' },
          { role: 'user', content: 'Which film about a ship?' },
        ],
      },
      { method: 'rag' },
    );
    expect(prepared.promptFormat).toBe('chat');
    expect(prepared.retrieved.map((it) => it.id)).toEqual(['f1']);
    expect(prepared.prompt).toBe(
      `<|im_start|>system\nAnswer briefly.\n${movie.historyLine(films[0]!).trimEnd()}<|im_end|>\n` +
        '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n' +
        '<|im_start|>user\nWhich film about a ship?<|im_end|>\n<|im_start|>assistant\n',
    );
    await expect(
      s.prepare(ann, {
        text: '',
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' },
        ],
      }),
    ).rejects.toThrow(
      "input.messages: the last of the 2 messages must be the user's question, not a assistant message",
    );
  });

  it('leaves out the oldest turns past half the context, and a base model keeps the task prompt', async () => {
    const { engine } = instruct('x', { contextLength: 64 });
    const s = service(movie, engine, { k: 0 });
    const long = 'word '.repeat(20).trim();
    const prepared = await s.prepare(ann, {
      text: '',
      messages: [
        { role: 'user', content: `old ${long}` },
        { role: 'assistant', content: long },
        { role: 'user', content: 'recent' },
        { role: 'assistant', content: 'reply' },
        { role: 'user', content: 'question' },
      ],
    });
    expect(prepared.prompt).not.toContain('old');
    expect(prepared.prompt).toContain(
      '<|im_start|>user\nrecent<|im_end|>\n<|im_start|>assistant\nreply<|im_end|>',
    );

    const base = service(movie, fakeModel('x').engine, { k: 0 });
    const plain = await base.prepare(ann, movie.formatInput({ description: 'robots' }));
    expect(plain.promptFormat).toBe('text');
    expect(plain.prompt).toBe(
      questionPrompt(movie, movie.formatInput({ description: 'robots' }), [], { k: 0 }),
    );
  });
});
