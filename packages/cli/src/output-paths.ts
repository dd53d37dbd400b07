import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { OppuError } from '@oppu/core';
import { CliUsageError } from './command.js';

/**
 * Checks of output paths, made before a command does its work, so that a run of minutes never ends in a failed
 * write: `--out` must be of the kind the command writes (a file or a folder), and the nearest folder that exists
 * on the way to it must be writable. Kind mistakes are usage errors (exit 2); permissions are runtime errors.
 */

async function kindOf(path: string): Promise<'file' | 'folder' | 'other' | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'folder' : s.isFile() ? 'file' : 'other';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR: a part of the path is a file; the walk up to it says so.
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** The nearest existing folder at or above `folder` must be a writable folder (the rest is created on write). */
async function checkParent(folder: string, flag: string, given: string): Promise<void> {
  let at = folder;
  for (;;) {
    const kind = await kindOf(at);
    if (kind === 'folder') break;
    if (kind !== undefined) {
      throw new CliUsageError(
        `${flag} ${given}: ${at} is a file, not a folder, so nothing can be written under it`,
      );
    }
    const up = dirname(at);
    if (up === at) return;
    at = up;
  }
  try {
    await access(at, constants.W_OK);
  } catch {
    throw new OppuError(
      'output_not_writable',
      `${flag} ${given}: cannot write into ${at} (permission denied)`,
    );
  }
}

/** `path` (the resolved `given`) can be written as a file: it is not a folder, and its folder can hold it. */
export async function checkOutputFile(path: string, flag: string, given: string): Promise<void> {
  const kind = await kindOf(path);
  if (kind === 'folder') {
    throw new CliUsageError(
      `${flag} ${given} is a folder; give a file path, e.g. ${join(given, 'predictions.json')}`,
    );
  }
  if (kind === 'other') throw new CliUsageError(`${flag} ${given} is not a regular file; give a file path`);
  await checkParent(dirname(path), flag, given);
}

/** `path` (the resolved `given`) can be a folder holding `files`: it is not a file, nor is any of `files` a folder. */
export async function checkOutputFolder(
  path: string,
  flag: string,
  given: string,
  files: readonly string[] = [],
): Promise<void> {
  const kind = await kindOf(path);
  if (kind === 'file' || kind === 'other') {
    throw new CliUsageError(
      `${flag} ${given} is a file; give a folder (this command writes several files into it)`,
    );
  }
  if (kind === undefined) {
    await checkParent(dirname(path), flag, given);
    return;
  }
  for (const f of files) {
    if ((await kindOf(join(path, f))) === 'folder') {
      throw new CliUsageError(
        `${flag} ${given}: ${f} in it is a folder, and this command writes a file there`,
      );
    }
  }
  await checkParent(path, flag, given);
}
