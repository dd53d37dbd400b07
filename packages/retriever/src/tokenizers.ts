/// <reference path="./stopword.d.ts" />
import { eng as englishStopWords } from 'stopword';

/** Turns a text into the tokens BM25 counts. */
export type Tokenizer = (text: string) => string[];

/**
 * OPPU's tokenizer, exactly: `text.split(" ")` in Python. Splits on single spaces only, so runs of spaces give
 * empty tokens and newlines stay inside tokens (`"tag: comedy\n"` gives `["tag:", "comedy\n"]`), as in the paper.
 */
export const oppuTokenizer: Tokenizer = (text) => text.split(' ');

/** Python's `str.split()` with no argument: split on runs of whitespace, no empty tokens. */
export const whitespaceTokenizer: Tokenizer = (text) => {
  const tokens = text.split(/\s+/);
  if (tokens.length > 0 && tokens[0] === '') tokens.shift();
  if (tokens.length > 0 && tokens[tokens.length - 1] === '') tokens.pop();
  return tokens;
};

export interface WordTokenizerOptions {
  /** Lower-case every token (default true). */
  readonly lowercase?: boolean;
  /** Words to drop; default: the `stopword` package's English list. Pass `[]` to keep every word. */
  readonly stopWords?: readonly string[];
  /** Drop tokens shorter than this (default 1). */
  readonly minLength?: number;
}

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

/** A better tokenizer for retrieval: Unicode words (punctuation splits), lower-cased, English stop words removed. */
export function wordTokenizer(options: WordTokenizerOptions = {}): Tokenizer {
  const lowercase = options.lowercase ?? true;
  const stop = new Set((options.stopWords ?? englishStopWords).map((w) => w.toLowerCase()));
  const minLength = options.minLength ?? 1;
  return (text) => {
    const out: string[] = [];
    for (const match of text.matchAll(WORD)) {
      const token = lowercase ? match[0].toLowerCase() : match[0];
      if (token.length < minLength) continue;
      if (stop.has(lowercase ? token : token.toLowerCase())) continue;
      out.push(token);
    }
    return out;
  };
}

export type TokenizerName = 'oppu' | 'whitespace' | 'words';

export function tokenizerFor(spec: TokenizerName | Tokenizer | undefined): Tokenizer {
  if (typeof spec === 'function') return spec;
  switch (spec ?? 'oppu') {
    case 'oppu':
      return oppuTokenizer;
    case 'whitespace':
      return whitespaceTokenizer;
    default:
      return wordTokenizer();
  }
}
