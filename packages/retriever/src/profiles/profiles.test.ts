import { FakeListChatModel } from '@langchain/core/utils/testing';
import {
  type BaseModel,
  type GenerateRequest,
  type HistoryItem,
  type SamplingOptions,
  type ScoreRequest,
  userId,
} from '@oppu/core';
import { describe, expect, it } from 'vitest';
import { HistoryStore } from '../history-store.js';
import { ExtractiveProfileSummarizer, profileTokens } from './extractive-summarizer.js';
import { LmProfileSummarizer } from './lm-summarizer.js';
import { oppuTaskName, pythonRepr } from './oppu-profile-prompts.js';
import { PopulationStats } from './population.js';

const alice = userId('alice');
const now = () => new Date('2024-05-01T00:00:00Z');

const movies: HistoryItem[] = [
  { id: '1', description: 'a whale hunt across the sea with a mad captain', tag: 'classic' },
  { id: '2', description: 'a sailor and his whale ship lost at sea', tag: 'classic' },
  { id: '3', description: 'robots rise against their makers in a dark future', tag: 'sci-fi' },
  { id: '4', description: 'the captain and the whale meet again at sea', tag: 'classic' },
];

describe('ExtractiveProfileSummarizer', () => {
  it('writes labels, characteristic words and style; an update equals summarizing everything', async () => {
    const s = new ExtractiveProfileSummarizer({ now });
    const full = await s.summarize(alice, movies, 'LaMP_2M');
    expect(full.text).toMatch(/^Most frequent tag: classic \(3\), sci-fi \(1\)\./);
    expect(full.text).toMatch(/Characteristic words: [^.]*whale/);
    expect(full.text).toMatch(/starts in lower case 100% of the time/);
    expect(full.text).toMatch(/often begins with "a" \(50%\)/);
    expect(full.itemCount).toBe(4);
    const half = await s.summarize(alice, movies.slice(0, 2), 'LaMP_2M');
    const updated = await s.update(half, movies.slice(2), 'LaMP_2M');
    expect(updated.text).toBe(full.text);
    expect(updated.features).toEqual(full.features);
    // survives a round trip through the history store
    const store = new HistoryStore(':memory:');
    store.putProfile(updated, 'LaMP_2M');
    const again = await s.update(
      store.getProfile(alice, 'LaMP_2M') as never,
      [{ id: '5', description: 'whale', tag: 'sci-fi' }],
      'x',
    );
    expect(again.itemCount).toBe(5);
    expect(again.text).toMatch(/classic \(3\), sci-fi \(2\)/);
  });

  it('compares ratings with the population mean', async () => {
    const others: HistoryItem[] = [
      { id: 'o1', text: 'meh', score: '2' },
      { id: 'o2', text: 'bad', score: '1' },
      { id: 'o3', text: 'fine', score: '3' },
    ];
    const mine: HistoryItem[] = [
      { id: 'm1', text: 'Great product!', score: '5' },
      { id: 'm2', text: 'Loved it!', score: '5' },
      { id: 'm3', text: 'Good enough', score: '4' },
    ];
    const population = PopulationStats.fromItems([...others, ...mine], {
      ratingField: 'score',
      tokenize: profileTokens,
    });
    const p = await new ExtractiveProfileSummarizer({ population, now }).summarize(alice, mine, 'LaMP_3');
    expect(p.text).toMatch(/Ratings: mean 4\.67 \(population 3\.33: rates higher by 1\.33\), most often 5\./);
    expect(p.text).toMatch(/uses "!" in 67%/);
    expect((p.features as { rating: { bias: number } }).rating.bias).toBeCloseTo(4.6667 - 3.3333, 3);
  });

  it('an empty history gives an empty profile', async () => {
    const p = await new ExtractiveProfileSummarizer({ now }).summarize(alice, [], 'LaMP_2M');
    expect(p).toMatchObject({ text: '', itemCount: 0 });
  });
});

class RecordingModel implements BaseModel {
  readonly info = {
    name: 'test/echo',
    hash: '0',
    architecture: 'none',
    parameters: 0,
    contextLength: 4096,
    vocabSize: 1,
    hiddenSize: 1,
    numLayers: 0,
  };
  prompts: string[] = [];
  options: SamplingOptions | undefined;
  tokenize(text: string) {
    return [...text].map((c) => c.charCodeAt(0));
  }
  detokenize(ids: readonly number[]) {
    return String.fromCharCode(...ids);
  }
  async generate(requests: readonly GenerateRequest[], options?: SamplingOptions) {
    this.prompts.push(...requests.map((r) => r.prompt));
    this.options = options;
    return requests.map(() => ({
      text: ' most popular tag: classic',
      tokens: 5,
      finishReason: 'stop' as const,
    }));
  }
  async score() {
    return 0;
  }
  /** A uniform model over 256 characters: each character and the end cost ln 256. */
  async scoreCandidates(requests: readonly ScoreRequest[]) {
    this.prompts.push(...requests.map((r) => r.prompt));
    return requests.map((r) => ({
      logProbs: r.candidates.map((c) => -(c.length + 1) * Math.log(256)),
      tokens: r.candidates.map((c) => c.length + 1),
    }));
  }
}

describe('LmProfileSummarizer', () => {
  it('builds OPPU’s prompt (Python list repr of formatted items) and samples like OPPU', async () => {
    const model = new RecordingModel();
    const s = new LmProfileSummarizer({ model, now });
    const p = await s.summarize(alice, movies.slice(0, 2), 'LaMP_2M');
    expect(model.prompts[0]).toBe(
      "Look at the following past movies this user has watched and determine the most popular tag they labeled. Answer in the following form: most popular tag: <tag>. User History: ['description: a whale hunt across the sea with a mad captain tag: classic', 'description: a sailor and his whale ship lost at sea tag: classic'] Answer:",
    );
    expect(model.options).toMatchObject({ temperature: 0.6, topK: 10, topP: 0.9, maxNewTokens: 300 });
    expect(p).toMatchObject({ text: 'most popular tag: classic', itemCount: 2 });
  });

  it('keeps k items, cuts fields to 200 tokens, and refuses items without the template’s fields', () => {
    const s = new LmProfileSummarizer({ model: new RecordingModel(), k: 3, seed: 1 });
    const many = Array.from({ length: 20 }, (_, i) => ({
      id: String(i),
      text: `${'w '.repeat(300)}end`,
      score: '5',
    }));
    const prompt = s.buildPrompt(many, 'product_rating');
    expect(prompt.match(/review: /g)).toHaveLength(3);
    expect(prompt).not.toContain('end');
    expect(() => s.buildPrompt([{ id: '9', text: 'x' }], 'LaMP_3')).toThrow(/item "9": has no "score" field/);
    expect(() => s.buildPrompt(many, 'LaMP_9')).toThrow(/no prompt for task "LaMP_9"/);
  });

  it('fits a base model’s context with room for the profile: long items lose characters, never fail', async () => {
    const model = new RecordingModel();
    Object.assign(model.info, { contextLength: 1024 }); // one token per character
    const long = Array.from({ length: 10 }, (_, i) => ({
      id: String(i),
      description: `${'whale '.repeat(400)}film ${i}`,
      tag: 'classic',
    }));
    const p = await new LmProfileSummarizer({ model, now }).summarize(alice, long, 'LaMP_2M');
    expect(p.text).toBe('most popular tag: classic');
    const prompt = model.prompts[0] as string;
    expect(prompt.length + 300 + 2).toBeLessThanOrEqual(1024);
    expect(prompt).toMatch(/^Look at the following past movies .* User History: \['description: whale whale/);
    expect(prompt.endsWith('] Answer:')).toBe(true);
  });

  it('works with a LangChain chat model', async () => {
    const model = new FakeListChatModel({ responses: ['Writes about whales.'] });
    const p = await new LmProfileSummarizer({ model }).summarize(alice, movies, 'LaMP_2M');
    expect(p.text).toBe('Writes about whales.');
  });

  it('pythonRepr and task names follow Python and LaMP', () => {
    expect(pythonRepr("it's")).toBe(`"it's"`);
    expect(pythonRepr('say "hi"\n')).toBe(`'say "hi"\\n'`);
    expect(pythonRepr(`both ' and "`)).toBe(`'both \\' and "'`);
    expect(oppuTaskName('LaMP-2M')).toBe('movie_tagging');
    expect(oppuTaskName('lamp_3')).toBe('product_rating');
  });
});
