import { type HistoryItem, LAMP_TASKS } from '@oppu/core';

/**
 * How the bot maps Discord text onto the service's task: what a member's own message becomes as a history
 * item, and what `/ask <text>` becomes as a task input.
 */
export interface BotTask {
  /** The id of the service task this mapping is written for (checked when the bot starts). */
  readonly taskId: string;
  /** One sentence for the help texts, e.g. "rewrites a text in your voice". */
  readonly does: string;
  /** A history item holding something the member wrote. */
  item(id: string, text: string, date: string): HistoryItem;
  /** The task input string for `/ask <text>`. */
  question(text: string): string;
}

/** LaMP-7 (tweet paraphrasing): history items are what the member wrote; `/ask` rewrites a text in their voice. */
export const LAMP_7_BOT_TASK: BotTask = Object.freeze({
  taskId: 'LaMP_7',
  does: 'rewrites a text in your voice',
  item: (id: string, text: string, date: string): HistoryItem => ({ id, text, date }),
  question: (text: string) => LAMP_TASKS.LaMP_7.formatInput({ text }),
});
