import { describe, expect, it } from 'vitest';
import type { AdapterStore } from '../contracts/adapter-store.js';
import type { BaseModel } from '../contracts/base-model.js';
import type { PeftEngine, TrainingExample } from '../contracts/engine.js';
import { OppuError } from '../contracts/errors.js';
import type { HistoryItem, UserProfile } from '../contracts/history.js';
import type { HistoryStore } from '../contracts/history-store.js';
import type { AdapterWeights } from '../contracts/tensors.js';
import { type UserId, userId } from '../contracts/user.js';
import { LAMP_TASKS } from '../lamp/tasks.js';
import { OppuService } from './oppu-service.js';

const CONTEXT = 96;

/** History in memory. */
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

/** Stores one adapter version in memory. */
function memoryAdapters(): AdapterStore {
  const versions: { meta: Record<string, unknown>; weights: AdapterWeights }[] = [];
  return {
    list: async () => versions.map((v) => v.meta),
    get: async () => versions[versions.length - 1],
    put: async (user: UserId, weights: AdapterWeights, meta: Record<string, unknown>) => {
      const m = { ...meta, userId: user, version: versions.length + 1, sha256: 'x' };
      versions.push({ meta: m, weights });
      return m;
    },
    delete: async () => {},
  } as unknown as AdapterStore;
}

/** Words are tokens; a prompt over the context is refused as TfBaseModel refuses it. */
function strictEngine() {
  const tokenize = (t: string) =>
    t
      .split(/\s+/)
      .filter(Boolean)
      .map((_, i) => i);
  const words = new Map<number, string>();
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
    tokenize: (t) =>
      t
        .split(/\s+/)
        .filter(Boolean)
        .map((w) => {
          const id = words.size;
          words.set(id, w);
          return id;
        }),
    detokenize: (ids) => ids.map((i) => words.get(i)).join(' '),
    async generate(requests, options) {
      return requests.map((r, i) => {
        const n = tokenize(r.prompt).length + 1;
        if (n + (options?.maxNewTokens ?? 128) > CONTEXT)
          throw new OppuError('prompt_too_long', `generate: request ${i} has ${n} prompt tokens`);
        return { text: 'a headline', tokens: 2, finishReason: 'stop' as const };
      });
    },
    score: async () => 0,
    scoreCandidates: async () => [],
  };
  const trained: TrainingExample[][] = [];
  const engine: PeftEngine = {
    model,
    async trainAdapter(examples) {
      trained.push([...examples]);
      return {
        weights: { tensors: new Map(), config: {} } as unknown as AdapterWeights,
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
  return { engine, trained, count: (t: string) => tokenize(t).length };
}

const task = LAMP_TASKS.LaMP_4;
const words = (n: number, w: string) => Array.from({ length: n }, (_, i) => `${w}${i % 50}`).join(' ');

describe('OppuService with long items and questions', () => {
  it('trains on examples within the training length and answers a 5,000-word question within the context', async () => {
    const { engine, trained, count } = strictEngine();
    const s = new OppuService({
      engine,
      task,
      adapters: memoryAdapters(),
      history: memoryHistory(),
      ranker: { topK: (docs, _q, k) => docs.slice(0, k).map((_, i) => i) },
      training: { maxLength: 64 },
    });
    const ann = userId('ann');
    await s.addItems(ann, [
      { id: '1', text: words(5000, 'a'), title: 'first' },
      { id: '2', text: 'x'.repeat(2 * 2 ** 20), title: 'second' },
      { id: '3', text: words(40, 'c'), title: 'third' },
    ]);
    await s.train(ann);
    for (const ex of trained.flat())
      expect(count(ex.prompt) + count(` ${ex.answer}`) + 2).toBeLessThanOrEqual(64);
    const answer = await s.ask(ann, task.formatInput({ text: words(5000, 'q') }));
    expect(answer.text).toBe('a headline');
    expect(count(answer.prompt) + 1 + 48).toBeLessThanOrEqual(CONTEXT); // LAMP_SAMPLING's 48 new tokens
    expect(answer.prompt.endsWith(' headline:')).toBe(true);
  });
});
