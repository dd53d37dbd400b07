import type { HistoryItem, UserProfile } from '../contracts/history.js';
import type { HistoryStore } from '../contracts/history-store.js';
import type { UserId } from '../contracts/user.js';

/**
 * A `HistoryStore` in memory, for tests: items in the order they arrived (an item whose id the user already has
 * replaces it in place), profiles per user and task, settings per user; `forget` leaves nothing of the user.
 */
export class InMemoryHistoryStore implements HistoryStore {
  private readonly items = new Map<UserId, HistoryItem[]>();
  private readonly profiles = new Map<UserId, Map<string, UserProfile>>();
  private readonly settings = new Map<UserId, Map<string, unknown>>();

  add(user: UserId, items: readonly HistoryItem[]): void {
    const list = [...(this.items.get(user) ?? [])];
    for (const item of items) {
      const at = list.findIndex((it) => it.id === item.id);
      if (at >= 0) list[at] = { ...item };
      else list.push({ ...item });
    }
    this.items.set(user, list);
  }

  list(user: UserId, options: { readonly before?: string } = {}): HistoryItem[] {
    const all = this.items.get(user) ?? [];
    const before = options.before;
    return before === undefined ? [...all] : all.filter((it) => it.date !== undefined && it.date < before);
  }

  count(user: UserId): number {
    return this.items.get(user)?.length ?? 0;
  }

  remove(user: UserId, ids: readonly string[]): number {
    const all = this.items.get(user) ?? [];
    const drop = new Set(ids);
    const kept = all.filter((it) => !drop.has(it.id));
    if (kept.length > 0) this.items.set(user, kept);
    else this.items.delete(user);
    return all.length - kept.length;
  }

  forget(user: UserId): void {
    this.items.delete(user);
    this.profiles.delete(user);
    this.settings.delete(user);
  }

  users(): UserId[] {
    return [...new Set([...this.items.keys(), ...this.profiles.keys(), ...this.settings.keys()])];
  }

  putProfile(profile: UserProfile, task = ''): void {
    const mine = this.profiles.get(profile.userId) ?? new Map<string, UserProfile>();
    mine.set(task, profile);
    this.profiles.set(profile.userId, mine);
  }

  getProfile(user: UserId, task = ''): UserProfile | undefined {
    return this.profiles.get(user)?.get(task);
  }

  deleteProfile(user: UserId, task = ''): void {
    this.profiles.get(user)?.delete(task);
  }

  setSetting(user: UserId, key: string, value: unknown): void {
    const mine = this.settings.get(user) ?? new Map<string, unknown>();
    mine.set(key, structuredClone(value));
    this.settings.set(user, mine);
  }

  getSetting<T = unknown>(user: UserId, key: string): T | undefined {
    return this.settings.get(user)?.get(key) as T | undefined;
  }
}
