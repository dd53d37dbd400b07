import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type HistoryItem, OppuError, type UserId, type UserProfile, userId } from '@oppu/core';
import Database from 'better-sqlite3';
import { validateItems } from './validate-items.js';

/** Schema migrations; `PRAGMA user_version` is the number of migrations applied. Append, never edit. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE items (
     user_id TEXT NOT NULL,
     id      TEXT NOT NULL,
     seq     INTEGER NOT NULL,
     date    TEXT,
     data    TEXT NOT NULL,
     PRIMARY KEY (user_id, id)
   ) WITHOUT ROWID;
   CREATE INDEX items_by_user_seq ON items (user_id, seq);
   CREATE TABLE profiles (
     user_id    TEXT NOT NULL,
     task       TEXT NOT NULL,
     data       TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (user_id, task)
   ) WITHOUT ROWID;
   CREATE TABLE settings (
     user_id TEXT NOT NULL,
     key     TEXT NOT NULL,
     value   TEXT NOT NULL,
     PRIMARY KEY (user_id, key)
   ) WITHOUT ROWID;`,
];

export const HISTORY_SCHEMA_VERSION = MIGRATIONS.length;

export interface ListOptions {
  /** Only items dated strictly before this. */
  readonly before?: string;
}

/**
 * Every user's history items, profiles and settings in one SQLite file (WAL mode). Each call is scoped to one
 * user; nothing here returns another user's rows. Items keep their insertion order (`seq`).
 */
export class HistoryStore {
  readonly path: string;
  private readonly db: Database.Database;

  /** `path`: a file (created with its folder if missing) or `:memory:`. */
  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      // Deleted content is overwritten with zeros, so a forgotten user's words do not linger in free pages.
      this.db.pragma('secure_delete = ON');
    } catch (error) {
      throw new OppuError(
        'history_store_open',
        `${path}: cannot open the history store (${(error as Error).message}); check the path, or move a damaged file aside`,
        { cause: error },
      );
    }
    this.migrate();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new OppuError(
        'history_store_version',
        `${this.path}: history store schema is version ${version}, newer than this @oppu/retriever understands (${MIGRATIONS.length}); upgrade @oppu/retriever`,
      );
    }
    const run = this.db.transaction(() => {
      for (let v = version; v < MIGRATIONS.length; v++) {
        this.db.exec(MIGRATIONS[v] as string);
        this.db.pragma(`user_version = ${v + 1}`);
      }
    });
    run();
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /** Adds items, or replaces those whose id the user already has (they keep their place in the order). */
  add(user: UserId, items: readonly HistoryItem[]): void {
    const u = userId(user);
    validateItems(items, `history of ${u}`);
    const next = this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM items WHERE user_id = ?');
    const upsert = this.db.prepare(
      `INSERT INTO items (user_id, id, seq, date, data) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (user_id, id) DO UPDATE SET date = excluded.date, data = excluded.data`,
    );
    this.db.transaction(() => {
      let seq = (next.get(u) as { s: number }).s;
      for (const item of items) upsert.run(u, item.id, ++seq, item.date ?? null, JSON.stringify(item));
    })();
  }

  /** The user's items in insertion order. */
  list(user: UserId, options: ListOptions = {}): HistoryItem[] {
    const u = userId(user);
    const rows =
      options.before === undefined
        ? this.db.prepare('SELECT data FROM items WHERE user_id = ? ORDER BY seq').all(u)
        : this.db
            .prepare(
              'SELECT data FROM items WHERE user_id = ? AND date IS NOT NULL AND date < ? ORDER BY seq',
            )
            .all(u, options.before);
    return (rows as { data: string }[]).map((r) => JSON.parse(r.data) as HistoryItem);
  }

  get(user: UserId, id: string): HistoryItem | undefined {
    const row = this.db
      .prepare('SELECT data FROM items WHERE user_id = ? AND id = ?')
      .get(userId(user), id) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as HistoryItem) : undefined;
  }

  count(user: UserId): number {
    return (
      this.db.prepare('SELECT COUNT(*) AS n FROM items WHERE user_id = ?').get(userId(user)) as { n: number }
    ).n;
  }

  /** Removes the given items of the user; returns how many existed. */
  remove(user: UserId, ids: readonly string[]): number {
    const u = userId(user);
    const del = this.db.prepare('DELETE FROM items WHERE user_id = ? AND id = ?');
    return this.db.transaction(() => ids.reduce((n, id) => n + del.run(u, id).changes, 0))();
  }

  /** Deletes everything stored about the user: items, profiles, settings. */
  forget(user: UserId): void {
    const u = userId(user);
    this.db.transaction(() => {
      for (const table of ['items', 'profiles', 'settings']) {
        this.db.prepare(`DELETE FROM ${table} WHERE user_id = ?`).run(u);
      }
    })();
    // The write-ahead log still holds the old pages: copy the zeroed pages into the database and empty the log.
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** Every user with at least one item, profile or setting. */
  users(): UserId[] {
    const rows = this.db
      .prepare(
        'SELECT user_id FROM items UNION SELECT user_id FROM profiles UNION SELECT user_id FROM settings',
      )
      .all() as { user_id: string }[];
    return rows.map((r) => userId(r.user_id)).sort();
  }

  /** Every item of every user, for population statistics (never for answering one user's query). */
  *allItems(): IterableIterator<{ user: UserId; item: HistoryItem }> {
    for (const row of this.db
      .prepare('SELECT user_id, data FROM items ORDER BY user_id, seq')
      .iterate() as Iterable<{
      user_id: string;
      data: string;
    }>) {
      yield { user: row.user_id as UserId, item: JSON.parse(row.data) as HistoryItem };
    }
  }

  putProfile(profile: UserProfile, task = ''): void {
    const u = userId(profile.userId, 'profile.userId');
    this.db
      .prepare(
        `INSERT INTO profiles (user_id, task, data, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (user_id, task) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
      )
      .run(u, task, JSON.stringify(profile), profile.updatedAt);
  }

  getProfile(user: UserId, task = ''): UserProfile | undefined {
    const row = this.db
      .prepare('SELECT data FROM profiles WHERE user_id = ? AND task = ?')
      .get(userId(user), task) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as UserProfile) : undefined;
  }

  deleteProfile(user: UserId, task = ''): void {
    this.db.prepare('DELETE FROM profiles WHERE user_id = ? AND task = ?').run(userId(user), task);
  }

  setSetting(user: UserId, key: string, value: unknown): void {
    this.db
      .prepare(
        `INSERT INTO settings (user_id, key, value) VALUES (?, ?, ?)
         ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value`,
      )
      .run(userId(user), key, JSON.stringify(value));
  }

  getSetting<T = unknown>(user: UserId, key: string): T | undefined {
    const row = this.db
      .prepare('SELECT value FROM settings WHERE user_id = ? AND key = ?')
      .get(userId(user), key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  close(): void {
    this.db.close();
  }
}
