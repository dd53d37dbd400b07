import type { HistoryItem, ScoredItem } from './history.js';
import type { UserId } from './user.js';

export interface RetrieveOptions {
  readonly k?: number;
  /** Only items dated strictly before this (OPPU's "items before i"). */
  readonly before?: string;
  /** Ids to leave out (e.g. the item being trained on). */
  readonly exclude?: ReadonlySet<string>;
}

/** Per-user memory. A query for one user never returns another user's items. */
export interface RetrieverV1 {
  add(user: UserId, items: readonly HistoryItem[]): Promise<void>;
  remove(user: UserId, ids: readonly string[]): Promise<void>;
  retrieve(user: UserId, query: string, options?: RetrieveOptions): Promise<ScoredItem[]>;
  /** Forgets every item of the user. */
  clear(user: UserId): Promise<void>;
}

/** `RetrieverV1` under its unversioned name (the current version). */
export type Retriever = RetrieverV1;
