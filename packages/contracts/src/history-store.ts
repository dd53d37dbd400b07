import type { HistoryItem, UserProfile } from './history.js';
import type { UserId } from './user.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * Stored history: each user's items (in the order they arrived), profiles and settings. Every call is scoped to
 * one user. `forget` leaves no row of the user behind.
 */
export interface HistoryStoreV1 {
  /** Adds items, replacing those whose id the user already has. */
  add(user: UserId, items: readonly HistoryItem[]): MaybePromise<void>;
  list(user: UserId, options?: { readonly before?: string }): MaybePromise<HistoryItem[]>;
  count(user: UserId): MaybePromise<number>;
  remove(user: UserId, ids: readonly string[]): MaybePromise<number>;
  forget(user: UserId): MaybePromise<void>;
  users(): MaybePromise<UserId[]>;
  putProfile(profile: UserProfile, task?: string): MaybePromise<void>;
  getProfile(user: UserId, task?: string): MaybePromise<UserProfile | undefined>;
  /** Removes the user's profile for the task (a profile must not outlive the items it was built from). */
  deleteProfile(user: UserId, task?: string): MaybePromise<void>;
  setSetting(user: UserId, key: string, value: unknown): MaybePromise<void>;
  getSetting<T = unknown>(user: UserId, key: string): MaybePromise<T | undefined>;
}

/** `HistoryStoreV1` under its unversioned name (the current version). */
export type HistoryStore = HistoryStoreV1;
