/**
 * Shared pieces of the hostile-input fuzz tests (issue 12): a fixed seed, a case counter that prints what was
 * tried, and a snapshot of stored data (every file under a folder, byte for byte) to prove nothing changed.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { OppuError } from '@oppu/core';
import { expect } from 'vitest';

/** One seed for every fuzz test, so a failure reproduces exactly. */
export const FUZZ_SEED = 20261125;

/** Counts the cases a property really ran and prints `[fuzz] <format>: N cases` at the end of the test. */
export class CaseCounter {
  private readonly counts = new Map<string, number>();
  hit(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }
  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
  report(format: string): number {
    const parts = [...this.counts].map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(`[fuzz] ${format}: ${this.total} cases (${parts})`);
    return this.total;
  }
}

/**
 * Every entry under `dir` as `path -> kind:sha256` (files hashed, links by target, folders by name), so two
 * snapshots are equal exactly when nothing was added, removed or changed. A missing folder is an empty map.
 */
export async function snapshotTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (at: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const name of names.sort()) {
      const p = join(at, name);
      const rel = relative(dir, p);
      const st = await lstat(p);
      if (st.isSymbolicLink()) out.set(rel, `link:${await readlink(p)}`);
      else if (st.isDirectory()) {
        out.set(rel, 'dir');
        await walk(p);
      } else
        out.set(
          rel,
          `file:${createHash('sha256')
            .update(await readFile(p))
            .digest('hex')}`,
        );
    }
  };
  await walk(dir);
  return out;
}

/** Runs `work`, expecting an OppuError whose message matches `names` (the file, field or argument). */
export async function expectOppuError(
  work: () => unknown | Promise<unknown>,
  names: RegExp,
): Promise<OppuError> {
  let caught: unknown;
  try {
    await work();
  } catch (error) {
    caught = error;
  }
  if (!(caught instanceof OppuError)) {
    throw new Error(
      `expected an OppuError naming ${names}, got ${caught === undefined ? 'success' : String(caught)}`,
    );
  }
  expect(caught.message).toMatch(names);
  expect(caught.code).toMatch(/^[a-z_]+$/);
  return caught;
}
