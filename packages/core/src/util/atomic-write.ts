import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  closeSync,
  createWriteStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OppuError } from '../contracts/errors.js';

/**
 * The one atomic, durable file write of oppu, used by every package: the data goes to a temp file in the same
 * folder (so the rename stays on one file system), the file is fsynced, renamed over the target, and the folder
 * is fsynced (so the rename itself survives a power cut). A reader sees the old file or the new one, never half
 * of one; a failure at any step leaves the old file as it was and no temp file. Failures are an OppuError
 * `file_write_failed` naming the target.
 */

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function writeFailed(path: string, error: unknown): OppuError {
  if (error instanceof OppuError) return error;
  return new OppuError('file_write_failed', `${path}: cannot write (${(error as Error).message})`, {
    cause: error,
  });
}

/**
 * fsyncs a folder, so that a rename or a new entry in it survives power loss. Best effort: where the platform
 * refuses to open or sync a folder (Windows), the rename is still atomic, only not yet durable.
 */
export async function syncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch {
    // EISDIR/EPERM/EINVAL on platforms without folder fsync.
  } finally {
    await handle.close();
  }
}

function syncDirSync(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // As in syncDir.
  } finally {
    closeSync(fd);
  }
}

/**
 * The durable steps of every async write here: the temp file is filled by `fill` (or kept as it is), fsynced,
 * renamed over `path`, then the folder is fsynced. On a failure the temp file is removed.
 */
async function commitTemp(
  path: string,
  tmp: string,
  fill?: (fh: Awaited<ReturnType<typeof open>>) => Promise<void>,
): Promise<void> {
  try {
    const fh = await open(tmp, fill ? 'w' : 'r+');
    try {
      await fill?.(fh);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw writeFailed(path, error);
  }
  await syncDir(dirname(path));
}

/** Writes `data` to `path` atomically and durably (see above). Creates the folder if needed. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (error) {
    throw writeFailed(path, error);
  }
  await commitTemp(path, tempPathFor(path), (fh) => fh.writeFile(data));
}

/**
 * `writeFileAtomic` for synchronous callers. `data` may also be a function that writes the file itself at the
 * temp path it is given (a library's `writeIndexSync(path)`); that file is then fsynced and renamed the same way.
 */
export function writeFileAtomicSync(
  path: string,
  data: string | Uint8Array | ((tmpPath: string) => void),
): void {
  const tmp = tempPathFor(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    if (typeof data === 'function') data(tmp);
    const fd = openSync(tmp, typeof data === 'function' ? 'r+' : 'w');
    try {
      if (typeof data !== 'function') writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw writeFailed(path, error);
  }
  syncDirSync(dirname(path));
}

/**
 * Replaces the folder `dir` with one that holds exactly `files` (relative name -> data), for files that only make
 * sense together (a model's config and weights, a checkpoint's weights and its step): each file is written and
 * fsynced in a staging folder beside `dir`, the staging folder is fsynced and renamed into place (the old folder
 * is moved aside just before and removed after), and the parent folder is fsynced. A reader sees the old folder
 * or the new one, never a mix of both; a failure leaves the old folder as it was and no staging folder. A crash
 * between the two renames (microseconds) leaves the old folder beside `dir` as `.<name>.<pid>.<hex>.old`.
 */
export function writeDirAtomicSync(dir: string, files: Readonly<Record<string, string | Uint8Array>>): void {
  const stage = tempPathFor(dir);
  const aside = `${stage.slice(0, -'.tmp'.length)}.old`;
  let movedAside = false;
  try {
    mkdirSync(stage, { recursive: true });
    for (const [name, data] of Object.entries(files)) {
      const path = join(stage, name);
      mkdirSync(dirname(path), { recursive: true });
      const fd = openSync(path, 'w');
      try {
        writeFileSync(fd, data);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    syncDirSync(stage);
    if (existsSync(dir)) {
      renameSync(dir, aside);
      movedAside = true;
    }
    renameSync(stage, dir);
  } catch (error) {
    if (movedAside && !existsSync(dir)) renameSync(aside, dir);
    rmSync(stage, { recursive: true, force: true });
    throw writeFailed(dir, error);
  }
  syncDirSync(dirname(dir));
  rmSync(aside, { recursive: true, force: true });
}

/** A file being written piece by piece; nothing appears at `path` until `commit()`. */
export interface AtomicWriter {
  write(chunk: string): Promise<void>;
  /** Flushes and fsyncs the temp file, renames it over the target, fsyncs the folder. */
  commit(): Promise<void>;
  /** Removes the temp file; the target is untouched. */
  abort(): Promise<void>;
}

/** Streams a large file to a temp path and renames it into place on `commit()` (for files too big to build in memory). */
export async function createAtomicWriter(path: string): Promise<AtomicWriter> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const stream = createWriteStream(tmp);
  await once(stream, 'open');
  let failed: Error | undefined;
  stream.on('error', (e) => {
    failed = e;
  });
  const closed = async () => {
    if (!stream.closed) {
      stream.end();
      await once(stream, 'close');
    }
  };
  return {
    async write(chunk) {
      if (failed) throw writeFailed(path, failed);
      if (!stream.write(chunk)) await once(stream, 'drain');
    },
    async commit() {
      if (!failed) await closed();
      if (failed) {
        await rm(tmp, { force: true });
        throw writeFailed(path, failed);
      }
      await commitTemp(path, tmp);
    },
    async abort() {
      stream.destroy();
      await rm(tmp, { force: true });
    },
  };
}
