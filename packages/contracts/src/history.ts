import type { UserId } from './user.js';

/**
 * One item of a user's history, shaped like a LaMP profile item: an id, an optional date, and the task's
 * text fields (e.g. `{ id, title, abstract }` for LaMP-1, `{ id, text, score }` for LaMP-3).
 */
export interface HistoryItem {
  readonly id: string;
  /** ISO date (or any string that sorts chronologically), used for recency and "items before i". */
  readonly date?: string;
  readonly [field: string]: string | undefined;
}

/** A history item with a retrieval score. */
export interface ScoredItem {
  readonly item: HistoryItem;
  readonly score: number;
}

/** A generated textual profile of one user (PAG). */
export interface UserProfile {
  readonly userId: UserId;
  readonly text: string;
  /** How many history items the profile summarises. */
  readonly itemCount: number;
  readonly updatedAt: string;
  /** Summarizer-specific structured features (label counts, rating bias, style), JSON-serialisable. */
  readonly features?: Readonly<Record<string, unknown>>;
}
