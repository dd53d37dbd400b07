import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Writes `data` to `path` atomically: into a temp file beside it, flushed to disk, then renamed over `path`.
 * A reader sees the old file or the new one, never half of one. Creates the folder if needed.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** A file being written piece by piece; nothing appears at `path` until `commit()`. */
export interface AtomicWriter {
  write(chunk: string): Promise<void>;
  /** Flushes, then renames the temp file over the target. */
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
      if (failed) throw failed;
      if (!stream.write(chunk)) await once(stream, 'drain');
    },
    async commit() {
      if (failed) throw failed;
      await closed();
      if (failed) throw failed;
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    },
    async abort() {
      stream.destroy();
      await rm(tmp, { force: true });
    },
  };
}
