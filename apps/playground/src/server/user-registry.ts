import { readFile } from 'node:fs/promises';
import { isUserId, type LampTaskId, lampTaskId, OppuError, type UserId, writeFileAtomic } from '@oppu/core';

/** A playground user: which task their history belongs to, and for demo users what their data was drawn from. */
export interface PlaygroundUser {
  readonly id: UserId;
  readonly task: LampTaskId;
  readonly createdAt: string;
  /** Set for the synthetic demo users created on first start. */
  readonly demo?: {
    /** The latent preferences the synthetic history was drawn from, in words. */
    readonly description: string;
    /** Question contents drawn from the same preferences, offered as prompts in the chat page. */
    readonly examples: readonly string[];
  };
}

interface RegistryFile {
  readonly version: 1;
  readonly users: PlaygroundUser[];
}

/**
 * The list of playground users, kept in `<dir>/users.json` (written atomically). The engine stores each user's
 * history and adapters; this file only records which users exist and which task each one is for, so one id
 * belongs to one task.
 */
export class UserRegistry {
  private users = new Map<UserId, PlaygroundUser>();
  private writing: Promise<void> = Promise.resolve();
  private nextSave: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    /** False when the file did not exist yet (first start). */
    readonly existed: boolean,
  ) {}

  static async open(path: string): Promise<UserRegistry> {
    const raw = await readJsonIfExists(path);
    const registry = new UserRegistry(path, raw !== undefined);
    if (raw !== undefined) {
      for (const user of parseRegistry(raw, path)) registry.users.set(user.id, user);
    }
    return registry;
  }

  list(): PlaygroundUser[] {
    return [...this.users.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: UserId): PlaygroundUser | undefined {
    return this.users.get(id);
  }

  /** The user, or an OppuError `unknown_user` saying how to create one. */
  require(id: UserId): PlaygroundUser {
    const user = this.users.get(id);
    if (!user) {
      throw new OppuError('unknown_user', `user "${id}" does not exist; create it first (POST /api/users)`);
    }
    return user;
  }

  async add(user: PlaygroundUser): Promise<void> {
    if (this.users.has(user.id)) {
      throw new OppuError(
        'user_exists',
        `user "${user.id}" already exists; pick another id or delete it first`,
      );
    }
    this.users.set(user.id, user);
    await this.save();
  }

  async remove(id: UserId): Promise<void> {
    this.users.delete(id);
    await this.save();
  }

  /**
   * Writes the current list; writes are serialised so the file always holds the latest state. Saves asked for
   * while one is being written share the next write, which takes the list as it is when it starts: fifty users
   * created at once cost two writes, not fifty in a row (each flushed to disk, and waiting on a busy event loop).
   */
  save(): Promise<void> {
    if (this.nextSave) return this.nextSave;
    const next = this.writing.then(() => {
      this.nextSave = undefined; // changes from here on need another write
      const file: RegistryFile = { version: 1, users: this.list() };
      return writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`);
    });
    this.nextSave = next;
    this.writing = next.catch(() => {});
    return next;
  }
}

/** Reads a JSON file; `undefined` when it does not exist. */
async function readJsonIfExists(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text);
}

function parseRegistry(raw: unknown, path: string): PlaygroundUser[] {
  const file = raw as Partial<RegistryFile> | null;
  if (typeof file !== 'object' || file === null || file.version !== 1 || !Array.isArray(file.users)) {
    throw new OppuError(
      'invalid_registry',
      `${path}: expected {"version": 1, "users": [...]}; fix or delete the file (the users' data stays in OPPU_HOME)`,
    );
  }
  return file.users.map((u, i) => {
    if (!isUserId(u?.id)) throw new OppuError('invalid_registry', `${path}: users[${i}] has no valid "id"`);
    return { ...u, id: u.id, task: lampTaskId(String(u.task)) };
  });
}
