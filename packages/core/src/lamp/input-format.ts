import { OppuError } from '../contracts/errors.js';
import { LAMP_2M_TAGS, LAMP_2N_CATEGORIES } from './labels.js';
import type { LampTaskId } from './task-ids.js';

/** What a LaMP-1 question asks: which of two references the author of `title` cited. */
export interface CitationInput {
  readonly title: string;
  readonly reference1: string;
  readonly reference2: string;
}
export interface MovieInput {
  readonly description: string;
}
export interface AbstractInput {
  readonly abstract: string;
}
/** The one text of a question: a news article (2N, 4), a review (3), an email (6), a text to tweet (7). */
export interface TextInput {
  readonly text: string;
}

/** The content of a question's `input`, per task. */
export interface LampInputs {
  LaMP_1: CitationInput;
  LaMP_2M: MovieInput;
  LaMP_2N: TextInput;
  LaMP_3: TextInput;
  LaMP_4: TextInput;
  LaMP_5: AbstractInput;
  LaMP_6: TextInput;
  LaMP_7: TextInput;
}
export type LampInput = LampInputs[LampTaskId];

/**
 * The official LaMP input strings (from the LaMP data files and paper, Table 7), as template text. `{x}` marks
 * where the content goes. LaMP-6's comes from LaMP's `create_avocado_dataset.py`.
 */
export const LAMP_INPUT_TEMPLATES: Readonly<Record<LampTaskId, string>> = Object.freeze({
  LaMP_1:
    'For an author who has written the paper with the title "{title}", which reference is related? ' +
    'Just answer with [1] or [2] without explanation. [1]: "{reference1}" [2]: "{reference2}"',
  LaMP_2M:
    'Which tag does this movie relate to among the following tags? Just answer with the tag name without ' +
    `further explanation. tags: [${LAMP_2M_TAGS.join(', ')}] description: {description}`,
  LaMP_2N:
    'Which category does this article relate to among the following categories? Just answer with the ' +
    `category name without further explanation. categories: [${LAMP_2N_CATEGORIES.join(', ')}] article: {text}`,
  LaMP_3:
    'What is the score of the following review on a scale of 1 to 5? just answer with 1, 2, 3, 4, or 5 ' +
    'without further explanation. review: {text}',
  LaMP_4: 'Generate a headline for the following article: {text}',
  LaMP_5: 'Generate a title for the following abstract of a paper: {abstract}',
  LaMP_6: 'Generate a subject for the following email: {text}',
  LaMP_7: 'Paraphrase the following tweet without any explanation before or after it: {text}',
});

/** Fills `{name}` slots; a missing value is an error rather than the literal "undefined". */
export function fillTemplate(template: string, values: Readonly<Record<string, string | undefined>>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new OppuError('template_value_missing', `template slot {${name}} has no value`);
    }
    return value;
  });
}

/** Writes the official `input` string of a question. */
export function formatLampInput<T extends LampTaskId>(task: T, content: LampInputs[T]): string {
  return fillTemplate(LAMP_INPUT_TEMPLATES[task], content as unknown as Record<string, string>);
}

// Parsers. Whitespace between the fixed parts may be spaces or newlines (both occur in copies of the data);
// the content itself is returned exactly as written.
const PARSERS: { readonly [T in LampTaskId]: { re: RegExp; build: (m: RegExpExecArray) => LampInputs[T] } } =
  {
    LaMP_1: {
      re: /^\s*For an author who has written the paper with the title "([\s\S]*?)",\s*which reference is related\?\s*Just answer with \[1\] or \[2\] without explanation\.\s*\[1\]:\s*"([\s\S]*?)"\s*\[2\]:\s*"([\s\S]*)"\s*$/,
      build: (m) => ({ title: m[1]!, reference1: m[2]!, reference2: m[3]! }),
    },
    LaMP_2M: {
      re: /^\s*Which tag does this movie relate to among the following tags\?[\s\S]*?tags:\s*\[[^\]]*\]\s*description:\s?([\s\S]*)$/,
      build: (m) => ({ description: m[1]! }),
    },
    LaMP_2N: {
      re: /^\s*Which category does this article relate to among the following categories\?[\s\S]*?categories:\s*\[[^\]]*\]\s*article:\s?([\s\S]*)$/,
      build: (m) => ({ text: m[1]! }),
    },
    LaMP_3: {
      re: /^\s*What is the score of the following review on a scale of 1 to 5\?[\s\S]*?review:\s?([\s\S]*)$/,
      build: (m) => ({ text: m[1]! }),
    },
    LaMP_4: {
      re: /^\s*Generate a headline for the following article:\s?([\s\S]*)$/,
      build: (m) => ({ text: m[1]! }),
    },
    LaMP_5: {
      re: /^\s*Generate a title for the following abstract of a paper:\s?([\s\S]*)$/,
      build: (m) => ({ abstract: m[1]! }),
    },
    LaMP_6: {
      re: /^\s*Generate a subject for the following email:\s?([\s\S]*)$/,
      build: (m) => ({ text: m[1]! }),
    },
    LaMP_7: {
      re: /^\s*Paraphrase the following tweet without any explanation before or after it:\s?([\s\S]*)$/,
      build: (m) => ({ text: m[1]! }),
    },
  };

/**
 * Extracts the task content from a LaMP question `input`: LaMP-1's title and two references, LaMP-3's review, ...
 * Throws OppuError `input_mismatch` (with `where` in the message) when the input is not in the task's format.
 */
export function parseLampInput<T extends LampTaskId>(task: T, input: string, where = 'input'): LampInputs[T] {
  const parser = PARSERS[task] as { re: RegExp; build: (m: RegExpExecArray) => LampInputs[T] };
  const m = parser.re.exec(input);
  if (!m) {
    const expected = LAMP_INPUT_TEMPLATES[task].slice(0, 60);
    const shown = JSON.stringify(input.length > 80 ? `${input.slice(0, 80)}...` : input);
    throw new OppuError(
      'input_mismatch',
      `${where}: ${shown} is not a ${task} input; expected it to read like "${expected}..." ` +
        '(is the --task right for this file?)',
    );
  }
  return parser.build(m);
}
