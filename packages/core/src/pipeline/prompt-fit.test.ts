import { describe, expect, it } from 'vitest';
import type { TextRanker } from '../contracts/engine.js';
import type { HistoryItem } from '../contracts/history.js';
import { LAMP_TASKS } from '../lamp/tasks.js';
import { capChars, PromptFit, type PromptModel, waterFill } from './prompt-fit.js';
import { questionPrompt, trainingExamples, truncateItem } from './prompts.js';

/**
 * A model whose tokens are whitespace-separated words (ids from a growing dictionary), with a small context.
 * It refuses, as a real tokenizer's memory would, any text longer than `maxInput` characters.
 */
function wordModel(contextLength: number, maxInput = Number.POSITIVE_INFINITY) {
  const ids = new Map<string, number>();
  const words: string[] = [];
  let longest = 0;
  const model: PromptModel = {
    info: { name: 'words', contextLength },
    tokenize(text) {
      longest = Math.max(longest, text.length);
      if (text.length > maxInput) throw new Error(`tokenize: ${text.length} characters`);
      return text
        .split(/\s+/)
        .filter(Boolean)
        .map((w) => {
          let id = ids.get(w);
          if (id === undefined) {
            id = words.length;
            ids.set(w, id);
            words.push(w);
          }
          return id;
        });
    },
    detokenize: (list) => list.map((i) => words[i]).join(' '),
  };
  return { model, count: (t: string) => model.tokenize(t).length, longest: () => longest };
}

const firstK: TextRanker = { topK: (docs, _q, k) => docs.slice(0, k).map((_, i) => i) };
const words = (n: number, w = 'word') => Array.from({ length: n }, (_, i) => `${w}${i}`).join(' ');

describe('the truncation policy (PromptFit)', () => {
  const task = LAMP_TASKS.LaMP_4;
  const history: HistoryItem[] = [
    { id: 'a', text: words(3000, 'alpha'), title: 'alpha headline here' },
    { id: 'b', text: words(3000, 'beta'), title: 'beta headline' },
    { id: 'c', text: 'short story', title: 'gamma' },
  ];

  it('fits a 5,000-word question with long retrieved items and a long profile into the context, answer room kept', () => {
    const { model, count } = wordModel(300);
    const fit = new PromptFit(model);
    const input = task.formatInput({ text: words(5000, 'body') });
    const prompt = questionPrompt(task, input, history, {
      k: 2,
      ranker: firstK,
      profile: words(2000, 'profile'),
      fit,
      answerTokens: 20,
    });
    const instruction = task.prompt({ text: '' });
    expect(count(prompt)).toBeLessThanOrEqual(300 - 20 - fit.specialTokens);
    expect(count(prompt)).toBeGreaterThan(300 - 20 - fit.specialTokens - 10); // at the limit, not far below
    // The instruction and the answer cue survive whole; every part keeps its first words.
    expect(prompt.endsWith(' headline:')).toBe(true);
    expect(prompt).toContain('Generate a headline for the following article.');
    expect(prompt).toContain('body0 body1 body2');
    expect(prompt.startsWith('profile0 profile1')).toBe(true);
    expect(prompt).toContain('article: alpha0 alpha1');
    expect(prompt).toContain('headline: alpha headline here'); // the short label of a cut line is kept
    // Shares: content about half of the room, retrieval about 0.3, the profile about 0.2.
    const room = 300 - 20 - fit.specialTokens - count(instruction);
    const bodyWords = prompt.split(/\s+/).filter((w) => w.startsWith('body')).length;
    const profileWords = prompt.split(/\s+/).filter((w) => w.startsWith('profile')).length;
    expect(bodyWords).toBeGreaterThanOrEqual(Math.floor(room * 0.5) - 4);
    expect(profileWords).toBeLessThanOrEqual(Math.ceil(room * 0.2));
  });

  it('gives a short part’s unused share to the others and leaves a prompt that fits untouched', () => {
    const { model, count } = wordModel(300);
    const fit = new PromptFit(model);
    const input = task.formatInput({ text: 'a short article' });
    const unfitted = questionPrompt(task, input, history.slice(2), { k: 1, ranker: firstK });
    expect(questionPrompt(task, input, history.slice(2), { k: 1, ranker: firstK, fit })).toBe(unfitted);
    // Short content: the retrieved item takes the room the content leaves.
    const prompt = questionPrompt(task, input, history, { k: 1, ranker: firstK, fit, answerTokens: 20 });
    const alphaWords = prompt.split(/\s+/).filter((w) => /^alpha\d/.test(w)).length;
    expect(alphaWords).toBeGreaterThan(200);
    expect(count(prompt)).toBeLessThanOrEqual(300 - 20 - fit.specialTokens);
  });

  it('cuts training examples to the context with their answer reserved, and cuts a long answer', () => {
    const { model, count } = wordModel(256);
    const fit = new PromptFit(model, { maxAnswerTokens: 16 });
    const items: HistoryItem[] = [
      { id: '1', text: words(5000, 'one'), title: 'first title' },
      { id: '2', text: words(5), title: words(400, 'long') },
      { id: '3', text: words(800, 'three'), title: 'third' },
    ];
    const examples = trainingExamples(task, items, { k: 1, ranker: firstK, profile: words(500, 'p'), fit });
    for (const ex of examples) {
      expect(count(ex.prompt) + count(` ${ex.answer}`) + fit.specialTokens).toBeLessThanOrEqual(256);
      expect(ex.prompt.endsWith(' headline:')).toBe(true);
    }
    expect(examples[0]!.answer).toBe('first title');
    expect(examples[1]!.answer).toBe(words(16, 'long')); // the answer's first 16 tokens
    expect(examples[2]!.prompt).toContain('one0 one1'); // item 1 retrieved, cut
  });

  it('caps every text by characters before it is tokenized: a 2 MB word costs no more than maxChars', () => {
    // A prompt is made of a few capped texts: the body, k lines, the profile.
    const { model, count, longest } = wordModel(128, 5 * 2048 + 500);
    const fit = new PromptFit(model, { maxChars: 2048 });
    const giant = 'x'.repeat(2 * 2 ** 20);
    const items: HistoryItem[] = [
      { id: '1', text: giant, title: giant },
      { id: '2', text: 'fine', title: 'ok' },
    ];
    const examples = trainingExamples(task, items, { k: 1, ranker: firstK, profile: giant, fit });
    const prompt = questionPrompt(task, task.formatInput({ text: giant }), items, {
      k: 2,
      ranker: firstK,
      profile: giant,
      fit,
    });
    expect(longest()).toBeLessThanOrEqual(5 * 2048 + 500);
    for (const p of [prompt, ...examples.map((e) => e.prompt)]) expect(count(p)).toBeLessThan(128);
    expect(truncateItem({ id: 'x', text: giant }, 768).text).toHaveLength(65_536);
  });

  it('keeps a label task’s label in a cut history line (LaMP-2M)', () => {
    const { model, count } = wordModel(200);
    const fit = new PromptFit(model);
    const movie = LAMP_TASKS.LaMP_2M;
    const films: HistoryItem[] = [{ id: 'f', description: words(4000, 'film'), tag: 'dark comedy' }];
    const prompt = questionPrompt(movie, movie.formatInput({ description: words(4000, 'q') }), films, {
      k: 1,
      ranker: firstK,
      fit,
      answerTokens: 3,
    });
    expect(count(prompt)).toBeLessThanOrEqual(200 - 3 - fit.specialTokens);
    expect(prompt).toMatch(/description: film0 film1 .* tag: dark comedy\n/);
  });

  it('never fails: an instruction longer than the context keeps the prompt’s last tokens', () => {
    const { model, count } = wordModel(16);
    const fit = new PromptFit(model, { specialTokens: 0 });
    const prompt = questionPrompt(task, task.formatInput({ text: words(50) }), [], {
      k: 0,
      fit,
      answerTokens: 4,
    });
    expect(count(prompt)).toBeLessThanOrEqual(12);
    expect(prompt.endsWith('headline:')).toBe(true);
  });

  it('refuses bad options in one line naming the option', () => {
    const { model } = wordModel(256);
    expect(() => new PromptFit(model, { maxChars: 0 })).toThrow(/^truncation options: maxChars must be/);
    expect(() => new PromptFit(model, { shares: { content: 2 } })).toThrow(
      /shares\.content must be a number from 0 to 1/,
    );
    expect(() => new PromptFit(model, { contextLength: 4 })).toThrow(
      /contextLength must be an integer of at least 8/,
    );
  });

  it('water-fills: small needs whole, the rest shared evenly', () => {
    expect(waterFill([5, 100, 100], 65)).toEqual([5, 30, 30]);
    expect(waterFill([5, 10], 100)).toEqual([5, 10]);
    expect(waterFill([50, 50, 50], 100)).toEqual([33, 33, 34]);
    expect(capChars('ab\u{1F600}', 3)).toBe('ab'); // never half a surrogate pair
  });
});
