import type { ChatMessage, ChatTemplate, ChatTool } from '../contracts/chat-template.js';
import type { TextRanker, TrainingExample } from '../contracts/engine.js';
import type { HistoryItem } from '../contracts/history.js';
import type { TaskDefinition } from '../contracts/task.js';
import { firstWords, OPPU_RETRIEVAL_FIELD_WORDS, OPPU_TRAIN_FIELD_WORDS } from '../lamp/oppu-templates.js';
import {
  capChars,
  DEFAULT_MAX_CHARS,
  type FittedParts,
  type PromptFit,
  type Templated,
} from './prompt-fit.js';

/**
 * Every text field of the item cut to its first `words` words (OPPU's `get_first_k_tokens`), after capping it
 * at `maxChars` characters (so a "word" of megabytes costs no more than that).
 */
export function truncateItem(item: HistoryItem, words: number, maxChars = DEFAULT_MAX_CHARS): HistoryItem {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(item)) {
    out[key] =
      typeof value === 'string' && key !== 'id' && key !== 'date'
        ? firstWords(capChars(value, maxChars), words)
        : value;
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
  /**
   * The truncation policy bound to the model (prompt-fit.ts): every prompt is cut by tokens to fit its
   * context, the task content, each retrieved item and the profile to their shares. Without it prompts are cut
   * by words only, as OPPU's are, and may be longer than a model holds.
   */
  readonly fit?: PromptFit;
  /** Question prompts with `fit`: tokens kept free for the answer (default 64: set it to maxNewTokens). */
  readonly answerTokens?: number;
  /** Question prompts (`buildPrompt`) for an instruct model: written with its chat template (see `ChatPromptOptions`). */
  readonly chat?: ChatPromptOptions;
}

/**
 * How an instruct model's question is written with its chat template: one system message (its own text, then
 * the user's profile, then the user's retrieved history lines, as OPPU orders them), the earlier turns, and the
 * question (the task's prompt, or the free text) as the last user message, then the assistant's cue.
 */
export interface ChatPromptOptions {
  readonly template: ChatTemplate;
  /** The system message's own text, before the profile and history. */
  readonly system?: string;
  /** Earlier turns (user and assistant messages), oldest first; the oldest are left out past half the context. */
  readonly turns?: readonly ChatMessage[];
  /** Tools offered to the model (rendered by the template; it must have tool calls). */
  readonly tools?: readonly ChatTool[];
}

/** Tokens a question prompt keeps free for the answer when `answerTokens` is not given. */
export const DEFAULT_ANSWER_TOKENS = 64;

/** The prompt as OPPU writes it from fitted parts: profile, retrieved lines, body. */
function assembleFitted(parts: FittedParts): string {
  return assemblePrompt(parts.body, {
    ...(parts.history.length > 0 ? { history: parts.history.join('') } : {}),
    ...(parts.profile !== undefined ? { profile: parts.profile } : {}),
  });
}

/** A question's chat prompt from fitted parts (see `ChatPromptOptions`). */
function assembleChat(chat: ChatPromptOptions, turns: readonly ChatMessage[]) {
  return (parts: FittedParts): string => {
    const system = [chat.system, parts.profile, parts.history.join('').trimEnd()]
      .filter((t): t is string => t !== undefined && t.trim() !== '')
      .join('\n');
    return chat.template.render(
      [
        ...(system ? [{ role: 'system' as const, content: system }] : []),
        ...turns,
        { role: 'user', content: parts.body },
      ],
      { addGenerationPrompt: true, ...(chat.tools ? { tools: chat.tools } : {}) },
    );
  };
}

/** The latest turns whose rendering fits half the context (all of them without a fit). */
function recentTurns(chat: ChatPromptOptions, fit: PromptFit | undefined): readonly ChatMessage[] {
  const turns = chat.turns ?? [];
  if (!fit || turns.length === 0) return turns;
  const budget = Math.floor(fit.contextLength / 2);
  let start = 0;
  while (start < turns.length) {
    const kept = turns.slice(start);
    // A conversation starts with a user turn (templates check that turns alternate).
    if (
      kept[0]?.role === 'user' &&
      fit.count(chat.template.render(kept, { addGenerationPrompt: false })) <= budget
    )
      return kept;
    start++;
  }
  return [];
}

/** An item's text fields (not its id or date). */
function textFields(item: HistoryItem): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(item))
    if (typeof value === 'string' && key !== 'id' && key !== 'date') out[key] = value;
  return out;
}

/** A retrieved item's history line, its fields cuttable. */
function lineTemplate(task: Pick<TaskDefinition, 'historyLine'>, item: HistoryItem): Templated {
  return { fields: textFields(item), render: (f) => task.historyLine({ ...item, ...f }) };
}

/** A training example's prompt from its item; the fields holding the answer are not the prompt's to cut. */
function exampleTemplate(task: TaskDefinition, item: HistoryItem, answer: string): Templated {
  const fields = textFields(item);
  return {
    fields,
    render: (f) => task.promptAnswer({ ...item, ...f }).prompt,
    keep: Object.keys(fields).filter((k) => fields[k] === answer),
  };
}

/** A question's prompt from its parsed content, the content's text fields cuttable. */
function contentTemplate<Input>(task: TaskDefinition<Input>, content: Input): Templated {
  if (typeof content === 'string')
    return { fields: { text: content }, render: (f) => task.prompt(f.text as Input) };
  if (content && typeof content === 'object') {
    const fields: Record<string, string> = {};
    for (const [key, value] of Object.entries(content)) if (typeof value === 'string') fields[key] = value;
    return { fields, render: (f) => task.prompt({ ...content, ...f }) };
  }
  return { fields: {}, render: () => task.prompt(content) };
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
  const { fit } = options;
  const truncated = items.map((it) => truncateItem(it, OPPU_TRAIN_FIELD_WORDS, fit?.maxChars));
  const lines = options.k > 0 ? truncated.map((it) => task.historyLine(it)) : [];
  return truncated.map((item, i) => {
    const pair = task.promptAnswer(item);
    let history: string | undefined;
    let top: number[] = [];
    if (options.k > 0 && i > 0) {
      if (!options.ranker) throw new Error('trainingExamples: k > 0 needs a ranker');
      const corpus = lines.slice(0, i);
      top = options.ranker.topK(corpus, itemQuery(task, item), options.k);
      history = top.map((j) => corpus[j]).join('');
    }
    if (fit) {
      // By tokens: the answer (cut to maxAnswerTokens) is reserved, the rest shared (prompt-fit.ts).
      const answer = fit.answer(pair.answer);
      const { prompt } = fit.fit(
        {
          body: exampleTemplate(task, item, pair.answer),
          history: top.map((j) => lineTemplate(task, truncated[j] as HistoryItem)),
          ...(options.profile !== undefined ? { profile: options.profile } : {}),
        },
        fit.count(` ${answer}`),
        assembleFitted,
      );
      return { prompt, answer };
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
  const { body, query } = questionBody(task, input, options.fit?.maxChars);
  return buildPrompt(task, options.fit ? body : body.render(body.fields), query, items, options).prompt;
}

/**
 * A task input's prompt body, as a template whose content fields the truncation policy may cut, and its
 * retrieval query (made from the content's first `maxChars` characters, so a megabyte input costs no more).
 */
export function questionBody<Input>(
  task: TaskDefinition<Input>,
  input: string,
  maxChars = DEFAULT_MAX_CHARS,
): { body: Templated; query: string } {
  const content = task.parseInput(input);
  const capped =
    typeof content === 'string'
      ? capChars(content, maxChars)
      : content && typeof content === 'object'
        ? Object.fromEntries(
            Object.entries(content).map(([k, v]) => [k, typeof v === 'string' ? capChars(v, maxChars) : v]),
          )
        : content;
  return { body: contentTemplate(task, content), query: task.retrievalQuery(capped as Input) };
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
 * free-text questions the same way). With `options.fit` the parts are cut by tokens to fit the context with
 * `answerTokens` to spare; `body` is then best given as a template whose fields may be cut (a plain string is
 * one cuttable field).
 */
export function buildPrompt(
  task: Pick<TaskDefinition, 'historyLine'>,
  body: string | Templated,
  query: string,
  items: readonly HistoryItem[],
  options: ExampleOptions,
): BuiltPrompt {
  const { fit } = options;
  const maxChars = fit?.maxChars ?? DEFAULT_MAX_CHARS;
  let history: string | undefined;
  let retrieved: number[] = [];
  let truncated: HistoryItem[] = [];
  if (options.k > 0 && items.length > 0) {
    if (!options.ranker) throw new Error('questionPrompt: k > 0 needs a ranker');
    truncated = items.map((it) => truncateItem(it, OPPU_RETRIEVAL_FIELD_WORDS, maxChars));
    const corpus = truncated.map((it) => task.historyLine(it));
    retrieved = options.ranker.topK(corpus, capChars(query, maxChars), options.k);
    history = retrieved.map((j) => corpus[j]).join('');
  }
  const template: Templated =
    typeof body === 'string' ? { fields: { text: body }, render: (f) => f.text ?? '' } : body;
  const assemble = options.chat ? assembleChat(options.chat, recentTurns(options.chat, fit)) : assembleFitted;
  if (fit) {
    const { prompt } = fit.fit(
      {
        body: template,
        history: retrieved.map((j) => lineTemplate(task, truncated[j] as HistoryItem)),
        ...(options.profile !== undefined ? { profile: options.profile } : {}),
      },
      options.answerTokens ?? DEFAULT_ANSWER_TOKENS,
      assemble,
    );
    return { prompt, retrieved };
  }
  return {
    prompt: assemble({
      body: template.render(template.fields),
      history: history !== undefined ? [history] : [],
      ...(options.profile !== undefined ? { profile: options.profile } : {}),
    }),
    retrieved,
  };
}
