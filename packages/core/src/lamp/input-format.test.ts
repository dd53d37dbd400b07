import { describe, expect, it } from 'vitest';
import { OppuError } from '../contracts/errors.js';
import { formatLampInput, LAMP_INPUT_TEMPLATES, parseLampInput } from './input-format.js';
import { LAMP_TASK_IDS } from './task-ids.js';

// Inputs copied in shape from the LaMP dev files (content shortened).
const REAL = {
  LaMP_1:
    'For an author who has written the paper with the title "Semantic Web Services: a Survey", which reference is related? Just answer with [1] or [2] without explanation. [1]: "Ontologies for agents" [2]: "A note on \\"quoted\\" graphs"',
  LaMP_2M:
    'Which tag does this movie relate to among the following tags? Just answer with the tag name without further explanation. tags: [sci-fi, based on a book, comedy, action, twist ending, dystopia, dark comedy, classic, psychology, fantasy, romance, thought-provoking, social commentary, violence, true story] description: A young boy learns he is a wizard.',
  LaMP_3:
    'What is the score of the following review on a scale of 1 to 5? just answer with 1, 2, 3, 4, or 5 without further explanation. review: Works fine, shipping was slow.',
  LaMP_4: 'Generate a headline for the following article: The city council voted on Tuesday.',
};

describe('parseLampInput', () => {
  it('reads LaMP-1 title and both references', () => {
    expect(parseLampInput('LaMP_1', REAL.LaMP_1)).toEqual({
      title: 'Semantic Web Services: a Survey',
      reference1: 'Ontologies for agents',
      reference2: 'A note on \\"quoted\\" graphs',
    });
  });

  it('accepts newlines between the fixed parts of LaMP-1', () => {
    const input =
      'For an author who has written the paper with the title "T", which reference is related? Just answer with [1] or [2] without explanation.\n[1]: "A"\n[2]: "B"';
    expect(parseLampInput('LaMP_1', input)).toEqual({ title: 'T', reference1: 'A', reference2: 'B' });
  });

  it('reads the content of the one-text tasks', () => {
    expect(parseLampInput('LaMP_2M', REAL.LaMP_2M)).toEqual({
      description: 'A young boy learns he is a wizard.',
    });
    expect(parseLampInput('LaMP_3', REAL.LaMP_3)).toEqual({ text: 'Works fine, shipping was slow.' });
    expect(parseLampInput('LaMP_4', REAL.LaMP_4)).toEqual({ text: 'The city council voted on Tuesday.' });
  });

  it('round-trips formatLampInput for every task', () => {
    const contents = {
      LaMP_1: { title: 'Deep nets', reference1: 'Backprop', reference2: 'Sorting: a study' },
      LaMP_2M: { description: 'A heist: in space.' },
      LaMP_2N: { text: 'Markets rallied: stocks rose.' },
      LaMP_3: { text: 'Great value.\nWould buy again.' },
      LaMP_4: { text: 'Article: body' },
      LaMP_5: { abstract: 'We propose X.' },
      LaMP_6: { text: 'Hi team, the meeting moved.' },
      LaMP_7: { text: 'just landed!!' },
    } as const;
    for (const task of LAMP_TASK_IDS) {
      const input = formatLampInput(task, contents[task] as never);
      expect(parseLampInput(task, input)).toEqual(contents[task]);
    }
  });

  it('formats LaMP-6 exactly as LaMP builds it', () => {
    expect(formatLampInput('LaMP_6', { text: 'body' })).toBe(
      'Generate a subject for the following email: body',
    );
    expect(LAMP_INPUT_TEMPLATES.LaMP_2N).toContain(
      'categories: [travel, education, parents, style & beauty,',
    );
  });

  it('throws an OppuError naming the task and place when the input is another task', () => {
    let error: unknown;
    try {
      parseLampInput('LaMP_3', REAL.LaMP_4, 'questions.json: item 3 (id "7")');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OppuError);
    expect((error as OppuError).code).toBe('input_mismatch');
    expect((error as Error).message).toMatch(/^questions\.json: item 3 \(id "7"\): .* is not a LaMP_3 input/);
  });

  it('rejects a LaMP-1 input with one reference missing', () => {
    expect(() =>
      parseLampInput(
        'LaMP_1',
        'For an author who has written the paper with the title "T", which reference is related? Just answer with [1] or [2] without explanation. [1]: "A"',
      ),
    ).toThrow(/not a LaMP_1 input/);
  });
});
