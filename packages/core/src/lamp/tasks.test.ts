import { describe, expect, it } from 'vitest';
import { OppuError } from '../contracts/errors.js';
import { LAMP_2M_TAGS, LAMP_2N_CATEGORIES } from './labels.js';
import { firstWords } from './oppu-templates.js';
import { isLampTaskId, lampTaskId } from './task-ids.js';
import { allLampTasks, LAMP_TASKS, lampTask } from './tasks.js';

describe('LaMP tasks as data', () => {
  it('has eight tasks with the right kinds and label sets', () => {
    expect(allLampTasks().map((t) => `${t.id}:${t.kind}`)).toEqual([
      'LaMP_1:classification',
      'LaMP_2M:classification',
      'LaMP_2N:classification',
      'LaMP_3:regression',
      'LaMP_4:generation',
      'LaMP_5:generation',
      'LaMP_6:generation',
      'LaMP_7:generation',
    ]);
    expect(LAMP_TASKS.LaMP_1.labels).toEqual(['[1]', '[2]']);
    expect(LAMP_2M_TAGS).toHaveLength(15);
    expect(new Set(LAMP_2M_TAGS).size).toBe(15);
    expect(LAMP_2N_CATEGORIES).toHaveLength(15);
    expect(LAMP_TASKS.LaMP_3.labels).toEqual(['1', '2', '3', '4', '5']);
    expect(LAMP_TASKS.LaMP_6.profileFields).toEqual(['text', 'title']);
  });

  it('resolves aliases and refuses the ambiguous LaMP_2', () => {
    expect(lampTaskId('LaMP-3')).toBe('LaMP_3');
    expect(lampTaskId('lamp_2m')).toBe('LaMP_2M');
    expect(lampTaskId('movie_tagging')).toBe('LaMP_2M');
    expect(lampTask('tweet_paraphrase').id).toBe('LaMP_7');
    expect(() => lampTaskId('LaMP_2')).toThrow(/ambiguous/);
    expect(() => lampTaskId('LaMP_9')).toThrow(OppuError);
    expect(isLampTaskId('LaMP_2N')).toBe(true);
    expect(isLampTaskId('LaMP_2')).toBe(false);
  });
});

describe("OPPU's templates", () => {
  it('writes the LaMP-2M prompt exactly as OPPU prompt.json', () => {
    const t = LAMP_TASKS.LaMP_2M;
    const q = t.parseInput(t.formatInput({ description: 'A boy wizard.' }));
    expect(t.prompt(q)).toBe(
      'Which tag does this movie relate to among the following tags? Just answer with the tag name without further explanation. tags: [sci-fi, based on a book, comedy, action, twist ending, dystopia, dark comedy, classic, psychology, fantasy, romance, thought-provoking, social commentary, violence, true story]\n description: A boy wizard. tag:',
    );
    const pa = t.promptAnswer({ id: '1', description: 'A boy wizard.', tag: 'fantasy' });
    expect(pa.answer).toBe('fantasy');
    expect(`${pa.prompt} ${pa.answer}`.endsWith('description: A boy wizard. tag: fantasy')).toBe(true);
    expect(t.historyLine({ id: '1', description: 'd', tag: 'comedy' })).toBe('description: d tag: comedy\n');
  });

  it('keeps OPPU wording for queries and history lines of the generation tasks', () => {
    expect(LAMP_TASKS.LaMP_4.retrievalQuery({ text: 'x' })).toBe(
      'Generate a headline for the following article: x',
    );
    expect(LAMP_TASKS.LaMP_4.prompt({ text: 'x' })).toBe(
      'Generate a headline for the following article.\narticle: x headline:',
    );
    expect(LAMP_TASKS.LaMP_5.promptAnswer({ id: '1', abstract: 'a', title: 'T' })).toEqual({
      prompt: 'Generate a title for the following abstract of a paper.\n abstract: a title:',
      answer: 'T',
    });
    expect(LAMP_TASKS.LaMP_7.promptAnswer({ id: '1', text: 'hi all' })).toEqual({
      prompt: 'tweet:',
      answer: 'hi all',
    });
    expect(LAMP_TASKS.LaMP_2N.retrievalQuery({ text: 'x' })).toContain('arcicle: x');
    expect(LAMP_TASKS.LaMP_3.prompt({ text: 'ok' })).toMatch(/review: ok\n score:$/);
    expect(LAMP_TASKS.LaMP_6.historyLine({ id: '1', text: 'e', title: 's' })).toBe('email: e subject: s\n');
  });

  it('gives LaMP-1 the options in its prompt and a pair from either citation or abstract', () => {
    const t = LAMP_TASKS.LaMP_1;
    expect(t.prompt({ title: 'T', reference1: 'A', reference2: 'B' })).toMatch(
      /\npaper title: T \[1\]: "A" \[2\]: "B" reference:$/,
    );
    expect(t.promptAnswer({ id: '1', title: 'T', abstract: 'Abs', citation: 'C' })).toEqual({
      prompt: 'paper title: T reference:',
      answer: 'C',
    });
    expect(t.promptAnswer({ id: '1', title: 'T', abstract: 'Abs' })).toEqual({
      prompt: 'paper title: T abstract:',
      answer: 'Abs',
    });
  });

  it('names the item and field when a history item lacks one', () => {
    expect(() => LAMP_TASKS.LaMP_4.historyLine({ id: '42', text: 'x' })).toThrow(
      'LaMP_4: history item "42" has no "title" field',
    );
  });

  it('builds the profile prompt around the joined history', () => {
    const t = LAMP_TASKS.LaMP_3;
    const lines = [
      t.profileLine({ id: '1', text: 'good', score: '5' }),
      t.profileLine({ id: '2', text: 'bad', score: '1' }),
    ];
    const p = t.profilePrompt(lines.join(' | '));
    expect(p).toContain('User History: review: good score: 5 | review: bad score: 1 Answer:');
  });

  it('truncates fields to the first k words like OPPU', () => {
    expect(firstWords('  a b\n c  d ', 3)).toBe('a b c');
  });
});
