import type { TextRanker, TrainingExample } from '../contracts/engine.js';
import type { HistoryItem } from '../contracts/history.js';
import type { TaskDefinition } from '../contracts/task.js';
import { firstWords, OPPU_RETRIEVAL_FIELD_WORDS, OPPU_TRAIN_FIELD_WORDS } from '../lamp/oppu-templates.js';

/** Every text field of the item cut to its first `words` words (OPPU's `get_first_k_tokens`). */
export function truncateItem(item: HistoryItem, words: number): HistoryItem {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(item)) {
    out[key] = typeof value === 'string' && key !== 'id' && key !== 'date' ? firstWords(value, words) : value;
  }
  return out as HistoryItem;
}

/** OPPU's prompt assembly: `[profile "\n"] [retrieved history lines "\n"] prompt`. */
export function assemblePrompt(
  prompt: string,
  parts: { readonly history?: string; readonly profile?: string },
): string {
  let out = prompt;
  if (parts.history !== undefined) out = `${parts.history}\n${out}`;
  if (parts.profile !== undefined) out = `${parts.profile}\n${out}`;
  return out;
}

/** The BM25 query OPPU uses for one of the user's own history items (its `retrieval_query` template). */
export function itemQuery(task: TaskDefinition, item: HistoryItem): string {
  return task.itemRetrievalQuery ? task.itemRetrievalQuery(item) : task.promptAnswer(item).prompt;
}

export interface ExampleOptions {
  /** Retrieved items per prompt (0: no retrieval). */
  readonly k: number;
  readonly ranker?: TextRanker;
  /** The user's profile text, put before every prompt (OPPU +PAG). */
  readonly profile?: string;
}

/**
 * A user's training examples, one per history item, in history order. With retrieval, the prompt of item i
 * carries the top-k of that user's items *before* i (never later items, never anyone else's).
 */
export function trainingExamples(
  task: TaskDefinition,
  items: readonly HistoryItem[],
  options: ExampleOptions,
): TrainingExample[] {
  const truncated = items.map((it) => truncateItem(it, OPPU_TRAIN_FIELD_WORDS));
  const lines = options.k > 0 ? truncated.map((it) => task.historyLine(it)) : [];
  return truncated.map((item, i) => {
    const pair = task.promptAnswer(item);
    let history: string | undefined;
    if (options.k > 0 && i > 0) {
      if (!options.ranker) throw new Error('trainingExamples: k > 0 needs a ranker');
      const corpus = lines.slice(0, i);
      const top = options.ranker.topK(corpus, itemQuery(task, item), options.k);
      history = top.map((j) => corpus[j]).join('');
    }
    const parts = {
      ...(history !== undefined ? { history } : {}),
      ...(options.profile !== undefined ? { profile: options.profile } : {}),
    };
    return { prompt: assemblePrompt(pair.prompt, parts), answer: pair.answer };
  });
}

/** The prompt for one question of the user: profile, top-k of the user's whole history, the task prompt. */
export function questionPrompt<Input>(
  task: TaskDefinition<Input>,
  input: string,
  items: readonly HistoryItem[],
  options: ExampleOptions,
): string {
  const content = task.parseInput(input);
  return buildPrompt(task, task.prompt(content), task.retrievalQuery(content), items, options).prompt;
}

/** A question's prompt and the user's items retrieved into it. */
export interface BuiltPrompt {
  readonly prompt: string;
  /** Indices into the items, best first. */
  readonly retrieved: readonly number[];
}

/**
 * A question's prompt from its parts: the profile, the top-k of the user's history ranked against `query`, then
 * `body` (for a task input, the task's prompt and retrieval query of it: `questionPrompt`; the service builds
 * free-text questions the same way).
 */
export function buildPrompt(
  task: Pick<TaskDefinition, 'historyLine'>,
  body: string,
  query: string,
  items: readonly HistoryItem[],
  options: ExampleOptions,
): BuiltPrompt {
  let history: string | undefined;
  let retrieved: number[] = [];
  if (options.k > 0 && items.length > 0) {
    if (!options.ranker) throw new Error('questionPrompt: k > 0 needs a ranker');
    const corpus = items.map((it) => task.historyLine(truncateItem(it, OPPU_RETRIEVAL_FIELD_WORDS)));
    retrieved = options.ranker.topK(corpus, query, options.k);
    history = retrieved.map((j) => corpus[j]).join('');
  }
  const parts = {
    ...(history !== undefined ? { history } : {}),
    ...(options.profile !== undefined ? { profile: options.profile } : {}),
  };
  return { prompt: assemblePrompt(body, parts), retrieved };
}
