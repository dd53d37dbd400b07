import { open } from 'node:fs/promises';

/** fsync a folder so a rename inside it survives power loss (best effort where the platform refuses). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some platforms do not allow fsync on a directory; the rename is still atomic.
  }
}
