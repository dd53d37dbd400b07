import { OppuError, writeFileAtomic as writeAtomic } from '@oppu/core';

/**
 * Writes a file atomically (temp file beside it, fsync, rename; `writeFileAtomic` of @oppu/core), so a reader
 * sees the old file or the new one, never a torn one. Creates missing parent folders. Failures are an OppuError
 * naming the file.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  try {
    await writeAtomic(path, data);
  } catch (err) {
    throw new OppuError('file_write_failed', `${path}: cannot write (${(err as Error).message})`, {
      cause: err,
    });
  }
}
