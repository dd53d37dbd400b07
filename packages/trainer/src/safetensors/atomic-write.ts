import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OppuError } from '@oppu/core';
import writeFileAtomicLib from 'write-file-atomic';

/**
 * Writes a file atomically: to a temporary file beside it, fsync, then rename over the target, so a reader
 * sees the old file or the new one, never a torn one. Creates missing parent folders. (npm's
 * `write-file-atomic` does the temp-file/fsync/rename/cleanup dance.)
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomicLib(
      path,
      typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      {
        fsync: true,
      },
    );
  } catch (err) {
    throw new OppuError('file_write_failed', `${path}: cannot write (${(err as Error).message})`, {
      cause: err,
    });
  }
}
