import type { TaskDefinition, TaskKind } from '../contracts/task.js';
import { formatLampInput, type LampInputs, parseLampInput } from './input-format.js';
import { LAMP_1_LABELS, LAMP_2M_TAGS, LAMP_2N_CATEGORIES, LAMP_3_SCORES } from './labels.js';
import { OPPU_TEMPLATES } from './oppu-templates.js';
import { LAMP_TASK_IDS, type LampTaskId, lampTaskId } from './task-ids.js';

export type LampTask<T extends LampTaskId = LampTaskId> = TaskDefinition<LampInputs[T]> & { readonly id: T };

interface TaskFacts {
  readonly name: string;
  readonly kind: TaskKind;
  readonly labels: readonly string[];
  readonly profileFields: readonly string[];
  readonly optionalProfileFields: readonly string[];
  /** The field of a history item that plays the role of the answer (the tag, the score, the headline...). */
  readonly answerField: string;
}

/** Per task: what it is, its labels, and the fields of its history items (as in the LaMP data files). */
export const LAMP_TASK_FACTS: Readonly<Record<LampTaskId, TaskFacts>> = Object.freeze({
  LaMP_1: {
    name: 'citation identification',
    kind: 'classification',
    labels: LAMP_1_LABELS,
    profileFields: ['title', 'abstract'],
    optionalProfileFields: ['citation'],
    answerField: 'citation',
  },
  LaMP_2M: {
    name: 'movie tagging',
    kind: 'classification',
    labels: LAMP_2M_TAGS,
    profileFields: ['description', 'tag'],
    optionalProfileFields: [],
    answerField: 'tag',
  },
  LaMP_2N: {
    name: 'news categorization',
    kind: 'classification',
    labels: LAMP_2N_CATEGORIES,
    profileFields: ['text', 'category'],
    optionalProfileFields: ['title'],
    answerField: 'category',
  },
  LaMP_3: {
    name: 'product rating',
    kind: 'regression',
    labels: LAMP_3_SCORES,
    profileFields: ['text', 'score'],
    optionalProfileFields: [],
    answerField: 'score',
  },
  LaMP_4: {
    name: 'news headline generation',
    kind: 'generation',
    labels: [],
    profileFields: ['text', 'title'],
    optionalProfileFields: [],
    answerField: 'title',
  },
  LaMP_5: {
    name: 'scholarly title generation',
    kind: 'generation',
    labels: [],
    profileFields: ['abstract', 'title'],
    optionalProfileFields: [],
    answerField: 'title',
  },
  LaMP_6: {
    name: 'email subject generation',
    kind: 'generation',
    labels: [],
    profileFields: ['text', 'title'],
    optionalProfileFields: [],
    answerField: 'title',
  },
  LaMP_7: {
    name: 'tweet paraphrasing',
    kind: 'generation',
    labels: [],
    profileFields: ['text'],
    optionalProfileFields: [],
    answerField: 'text',
  },
});

function define<T extends LampTaskId>(id: T): LampTask<T> {
  const facts = LAMP_TASK_FACTS[id];
  const t = OPPU_TEMPLATES[id];
  return Object.freeze({
    id,
    name: facts.name,
    kind: facts.kind,
    labels: facts.labels,
    profileFields: facts.profileFields,
    optionalProfileFields: facts.optionalProfileFields,
    parseInput: (input: string) => parseLampInput(id, input),
    formatInput: (content: LampInputs[T]) => formatLampInput(id, content),
    prompt: t.prompt,
    promptAnswer: t.promptAnswer,
    historyLine: t.historyLine,
    retrievalQuery: t.retrievalQuery,
    profileLine: t.profileLine,
    profilePrompt: t.profilePrompt,
  });
}

/** Every LaMP task as a TaskDefinition: labels, fields, the official input format and OPPU's templates. */
export const LAMP_TASKS: { readonly [T in LampTaskId]: LampTask<T> } = Object.freeze({
  LaMP_1: define('LaMP_1'),
  LaMP_2M: define('LaMP_2M'),
  LaMP_2N: define('LaMP_2N'),
  LaMP_3: define('LaMP_3'),
  LaMP_4: define('LaMP_4'),
  LaMP_5: define('LaMP_5'),
  LaMP_6: define('LaMP_6'),
  LaMP_7: define('LaMP_7'),
});

/** The task for an id or alias (`LaMP_2M`, `LaMP-3`, `movie_tagging`); unknown names are an OppuError. */
export function lampTask(name: string): LampTask {
  return LAMP_TASKS[lampTaskId(name)];
}

export function allLampTasks(): LampTask[] {
  return LAMP_TASK_IDS.map((id) => LAMP_TASKS[id]);
}
