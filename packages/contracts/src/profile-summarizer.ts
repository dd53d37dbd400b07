import type { HistoryItem, UserProfile } from './history.js';
import type { UserId } from './user.js';

/** Writes a short textual profile of a user from their own history (OPPU's PAG). */
export interface ProfileSummarizerV1 {
  summarize(
    user: UserId,
    items: readonly HistoryItem[],
    task: string,
    signal?: AbortSignal,
  ): Promise<UserProfile>;
  /** Updates a profile with new items, without re-reading the whole history where the method allows. */
  update?(profile: UserProfile, newItems: readonly HistoryItem[], task: string): Promise<UserProfile>;
}

/** `ProfileSummarizerV1` under its unversioned name (the current version). */
export type ProfileSummarizer = ProfileSummarizerV1;
