import type { HistoryItem } from './history.js';

/** How a task's answers are scored: classification (accuracy, F1), regression (MAE, RMSE), generation (ROUGE). */
export type TaskKind = 'classification' | 'regression' | 'generation';

/** A training pair built from one history item: the model sees `prompt` and learns to continue with `answer`. */
export interface PromptAnswer {
  readonly prompt: string;
  readonly answer: string;
}

/**
 * A personalisation task, described as data: what its history items hold, which answers are allowed and how
 * prompts are written. The LaMP family (`LAMP_TASKS`) is the built-in set; a new task is a new object.
 */
export interface TaskDefinitionV1<Input = unknown> {
  /** Stable id as written in outputs files, e.g. `LaMP_2M`. */
  readonly id: string;
  readonly name: string;
  readonly kind: TaskKind;
  /** The closed answer set of a classification/regression task, in the order the official metric uses; empty for generation. */
  readonly labels: readonly string[];
  /** Fields every history (profile) item of this task must carry, besides `id` (and the optional `date`). */
  readonly profileFields: readonly string[];
  /** Extra fields some data sets add (e.g. `title` on LaMP-2N news, `citation` in OPPU's LaMP-1 data). */
  readonly optionalProfileFields: readonly string[];
  /** Reads the task content out of a question's `input` string; throws OppuError when it does not match. */
  parseInput(input: string): Input;
  /** Writes the official input string for the content (inverse of `parseInput`). */
  formatInput(content: Input): string;
  /** The prompt the model answers for a question. */
  prompt(content: Input): string;
  /** A training (prompt, answer) pair made from one of the user's history items. */
  promptAnswer(item: HistoryItem): PromptAnswer;
  /** How a retrieved history item is written into a prompt (ends with a newline). */
  historyLine(item: HistoryItem): string;
  /** The text used as the retrieval (BM25) query for a question. */
  retrievalQuery(content: Input): string;
  /**
   * The retrieval query for one of the user's own history items, when training with retrieval (OPPU's
   * `retrieval_query` template). Absent: the item's training prompt is the query.
   */
  itemRetrievalQuery?(item: HistoryItem): string;
  /** How a history item is written into the profile-generation prompt. */
  profileLine(item: HistoryItem): string;
  /** The instruction asking a model to summarise a user's history (`history` is the joined profile lines). */
  profilePrompt(history: string): string;
}

/** `TaskDefinitionV1` under its unversioned name (the current version). */
export type TaskDefinition<Input = unknown> = TaskDefinitionV1<Input>;
