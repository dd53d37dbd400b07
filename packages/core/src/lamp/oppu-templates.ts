import { OppuError } from '../contracts/errors.js';
import type { HistoryItem } from '../contracts/history.js';
import type { PromptAnswer } from '../contracts/task.js';
import type { LampInputs } from './input-format.js';
import { LAMP_2M_TAGS, LAMP_2N_CATEGORIES } from './labels.js';
import type { LampTaskId } from './task-ids.js';

/**
 * OPPU's prompt templates (TamSiuhin/OPPU `prompt/prompt.json` and `prompt/prompt_profile.json`), reproduced
 * text for text, typos included ("arcicle" in the LaMP-2N retrieval query), so prompts match the paper's.
 *
 * - `prompt`: the question prompt (prompt.json `prompt`).
 * - `promptAnswer`: one history item as a training pair (`OPPU_input` / `OPPU_full`); the training text is
 *   `${prompt} ${answer}`, the loss taken on the answer only.
 * - `historyLine`: a retrieved item as written before the prompt (`retrieval_history`, newline included; the
 *   retrieved lines are concatenated, then "\n", then the prompt).
 * - `retrievalQuery`: the BM25 query for a question (`retrieval_query_wokey`).
 * - `profileLine` / `profilePrompt`: the profile-generation prompt (prompt_profile.json); lines are joined
 *   with " | ".
 *
 * Deviations, each because OPPU's code cannot be followed as written:
 * - LaMP-1 `prompt`: OPPU's template has one `{}` slot, and Python's `str.format` silently drops the two
 *   reference options passed to it, so OPPU's model never saw them. We keep OPPU's text and add the options
 *   (`[1]: "..." [2]: "..."`) before `reference:` so the question can be answered.
 * - LaMP-1 `promptAnswer` / `profileLine`: OPPU's processed data carries a `citation` field on history items
 *   (a paper the user cited); LaMP's own LaMP-1 items only have `title` and `abstract`. With `citation` the
 *   OPPU template is used; without it the pair is `paper title: {title} abstract:` -> abstract.
 * - LaMP-6 has no OPPU template; ours follows LaMP-4's (email -> subject), with LaMP-6's wording.
 */
export interface OppuTemplates<Input> {
  prompt(content: Input): string;
  promptAnswer(item: HistoryItem): PromptAnswer;
  historyLine(item: HistoryItem): string;
  retrievalQuery(content: Input): string;
  profileLine(item: HistoryItem): string;
  profilePrompt(history: string): string;
}

/** OPPU truncates every history field to its first 768 words for training prompts ... */
export const OPPU_TRAIN_FIELD_WORDS = 768;
/** ... to 368 words for the retrieval corpus at question time ... */
export const OPPU_RETRIEVAL_FIELD_WORDS = 368;
/** ... and to 200 words in the profile prompt, which samples at most 10 items. */
export const OPPU_PROFILE_FIELD_WORDS = 200;
export const OPPU_PROFILE_ITEMS = 10;
/** Separator between profile lines in the profile prompt. */
export const OPPU_PROFILE_SEPARATOR = ' | ';

/** OPPU's `get_first_k_tokens`: the first `k` whitespace-separated words, joined by single spaces. */
export function firstWords(text: string, k: number): string {
  return text.split(/\s+/).filter(Boolean).slice(0, k).join(' ');
}

/** A history field the template needs; a missing one is an error naming the item and field. */
export function itemField(item: HistoryItem, field: string, task: string): string {
  const value = item[field];
  if (typeof value !== 'string') {
    throw new OppuError(
      'missing_field',
      `${task}: history item ${JSON.stringify(item.id)} has no "${field}" field (it needs it for this task's prompts)`,
    );
  }
  return value;
}

const TAGS = LAMP_2M_TAGS.join(', ');
const CATEGORIES = LAMP_2N_CATEGORIES.join(', ');

const MOVIE_Q = `Which tag does this movie relate to among the following tags? Just answer with the tag name without further explanation. tags: [${TAGS}]\n description: `;
const NEWS_Q = `Which category does this article relate to among the following categories? Just answer with the category name without further explanation. categories: [${CATEGORIES}]\n article: `;
const CITATION_Q =
  "Identify the most relevant reference for the listed publication by the researcher. Select the reference paper that is most closely related to the researcher's work.";
const REVIEW_Q =
  'What is the score of the following review on a scale of 1 to 5? just answer with 1, 2, 3, 4, or 5 without further explanation. review: ';

type Templates = { readonly [T in LampTaskId]: OppuTemplates<LampInputs[T]> };

export const OPPU_TEMPLATES: Templates = {
  LaMP_1: {
    prompt: (q) =>
      `${CITATION_Q}\npaper title: ${q.title} [1]: "${q.reference1}" [2]: "${q.reference2}" reference:`,
    promptAnswer: (it) => {
      const title = itemField(it, 'title', 'LaMP_1');
      if (typeof it.citation === 'string') {
        return { prompt: `paper title: ${title} reference:`, answer: it.citation };
      }
      return { prompt: `paper title: ${title} abstract:`, answer: itemField(it, 'abstract', 'LaMP_1') };
    },
    historyLine: (it) => `paper title: ${itemField(it, 'title', 'LaMP_1')}\n`,
    retrievalQuery: (q) =>
      `${CITATION_Q} Please respond with only the number that corresponds to the reference.\npaper title: ${q.title}`,
    profileLine: (it) =>
      typeof it.citation === 'string'
        ? `paper title: ${itemField(it, 'title', 'LaMP_1')} reference: ${it.citation}`
        : `paper title: ${itemField(it, 'title', 'LaMP_1')}`,
    profilePrompt: (h) =>
      `Write a summary, in English, of the research interests and topics of a researcher who has published the following papers. Only generate the summary, no other text. User History: ${h} Answer:`,
  },
  LaMP_2M: {
    prompt: (q) => `${MOVIE_Q}${q.description} tag:`,
    promptAnswer: (it) => ({
      prompt: `${MOVIE_Q}${itemField(it, 'description', 'LaMP_2M')} tag:`,
      answer: itemField(it, 'tag', 'LaMP_2M'),
    }),
    historyLine: (it) =>
      `description: ${itemField(it, 'description', 'LaMP_2M')} tag: ${itemField(it, 'tag', 'LaMP_2M')}\n`,
    retrievalQuery: (q) =>
      `Which tag does this movie relate to among the following tags? Just answer with the tag name without further explanation.\n description: ${q.description}`,
    profileLine: (it) =>
      `description: ${itemField(it, 'description', 'LaMP_2M')} tag: ${itemField(it, 'tag', 'LaMP_2M')}`,
    profilePrompt: (h) =>
      `Look at the following past movies this user has watched and determine the most popular tag they labeled. Answer in the following form: most popular tag: <tag>. User History: ${h} Answer:`,
  },
  LaMP_2N: {
    prompt: (q) => `${NEWS_Q}${q.text} category:`,
    promptAnswer: (it) => ({
      prompt: `${NEWS_Q}${itemField(it, 'text', 'LaMP_2N')} category:`,
      answer: itemField(it, 'category', 'LaMP_2N'),
    }),
    historyLine: (it) =>
      `article: ${itemField(it, 'text', 'LaMP_2N')} category: ${itemField(it, 'category', 'LaMP_2N')}\n`,
    // "arcicle" is OPPU's spelling; kept so BM25 queries match theirs token for token.
    retrievalQuery: (q) =>
      `Which category does this article relate to among the following categories? arcicle: ${q.text}`,
    profileLine: (it) =>
      `article: ${itemField(it, 'text', 'LaMP_2N')} category: ${itemField(it, 'category', 'LaMP_2N')}`,
    profilePrompt: (h) =>
      `Look at the following past articles this journalist has written and determine the most popular category they write in. Answer in the following form: most popular category: <category>. User History: ${h} Answer:`,
  },
  LaMP_3: {
    prompt: (q) => `${REVIEW_Q}${q.text}\n score:`,
    promptAnswer: (it) => ({
      prompt: `${REVIEW_Q}${itemField(it, 'text', 'LaMP_3')}\n score:`,
      answer: itemField(it, 'score', 'LaMP_3'),
    }),
    historyLine: (it) =>
      `review: ${itemField(it, 'text', 'LaMP_3')} score: ${itemField(it, 'score', 'LaMP_3')}\n`,
    retrievalQuery: (q) =>
      `What is the score of the following review on a scale of 1 to 5? review: ${q.text}`,
    profileLine: (it) =>
      `review: ${itemField(it, 'text', 'LaMP_3')} score: ${itemField(it, 'score', 'LaMP_3')}`,
    profilePrompt: (h) =>
      `Based on this user’s past reviews, what are the most common scores they give for positive and negative reviews? Answer in the following form: most common positive score: <most common positive score>, most common negative score: <most common negative score>. User History: ${h} Answer:`,
  },
  LaMP_4: {
    // OPPU's question prompt has "\narticle:", its training prompt "\n article:"; both kept as released.
    prompt: (q) => `Generate a headline for the following article.\narticle: ${q.text} headline:`,
    promptAnswer: (it) => ({
      prompt: `Generate a headline for the following article.\n article: ${itemField(it, 'text', 'LaMP_4')} headline:`,
      answer: itemField(it, 'title', 'LaMP_4'),
    }),
    historyLine: (it) =>
      `article: ${itemField(it, 'text', 'LaMP_4')} headline: ${itemField(it, 'title', 'LaMP_4')}\n`,
    retrievalQuery: (q) => `Generate a headline for the following article: ${q.text}`,
    profileLine: (it) =>
      `article: ${itemField(it, 'text', 'LaMP_4')} headline: ${itemField(it, 'title', 'LaMP_4')}`,
    profilePrompt: (h) =>
      `Given this author’s previous articles, try to describe a template for their headlines. I want to be able to accurately predict the headline gives one of their articles. Be specific about their style and wording, don’t tell me anything generic. User History: ${h} Answer:`,
  },
  LaMP_5: {
    prompt: (q) => `Generate a title for the following abstract of a paper.\n abstract: ${q.abstract} title:`,
    promptAnswer: (it) => ({
      prompt: `Generate a title for the following abstract of a paper.\n abstract: ${itemField(it, 'abstract', 'LaMP_5')} title:`,
      answer: itemField(it, 'title', 'LaMP_5'),
    }),
    historyLine: (it) =>
      `abstract: ${itemField(it, 'abstract', 'LaMP_5')} title: ${itemField(it, 'title', 'LaMP_5')}\n`,
    retrievalQuery: (q) => `Generate a title for the following abstract of a paper: ${q.abstract}`,
    profileLine: (it) =>
      `abstract: ${itemField(it, 'abstract', 'LaMP_5')} title: ${itemField(it, 'title', 'LaMP_5')}`,
    profilePrompt: (h) =>
      `Given this author’s previous publications, try to describe a template for their titles. I want to be able to accurately predict the title of one of the papers from the abstract. Only generate the template description, nothing else. User History: ${h} Answer:`,
  },
  LaMP_6: {
    prompt: (q) => `Generate a subject for the following email.\n email: ${q.text} subject:`,
    promptAnswer: (it) => ({
      prompt: `Generate a subject for the following email.\n email: ${itemField(it, 'text', 'LaMP_6')} subject:`,
      answer: itemField(it, 'title', 'LaMP_6'),
    }),
    historyLine: (it) =>
      `email: ${itemField(it, 'text', 'LaMP_6')} subject: ${itemField(it, 'title', 'LaMP_6')}\n`,
    retrievalQuery: (q) => `Generate a subject for the following email: ${q.text}`,
    profileLine: (it) =>
      `email: ${itemField(it, 'text', 'LaMP_6')} subject: ${itemField(it, 'title', 'LaMP_6')}`,
    profilePrompt: (h) =>
      `Given this person’s previous emails, try to describe a template for their email subjects. I want to be able to accurately predict the subject of one of their emails from its text. Be specific about their style and wording, don’t tell me anything generic. User History: ${h} Answer:`,
  },
  LaMP_7: {
    prompt: (q) =>
      `Paraphrase the following text into tweet without any explanation before or after it.\n text: ${q.text} tweet:`,
    promptAnswer: (it) => ({ prompt: 'tweet:', answer: itemField(it, 'text', 'LaMP_7') }),
    historyLine: (it) => `tweet: ${itemField(it, 'text', 'LaMP_7')}\n`,
    retrievalQuery: (q) =>
      `Paraphrase the following text into tweet without any explanation before or after it: ${q.text}`,
    profileLine: (it) => `tweet: ${itemField(it, 'text', 'LaMP_7')}`,
    profilePrompt: (h) =>
      `Given this person’s previous tweets, try to describe a template for their tweets. I want to take a generic sentence and rephrase it to sound like one of their tweets, with the same style/punctuation/capitalization/wording/tone/etc. as them. Only give me the template description, nothing else. User History: ${h} Answer:`,
  },
};
