import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { writeFileAtomicSync } from '@oppu/core';
import { type CorpusPackage, corpusPackages, loadCorpus } from '../data/corpus.js';
import type { CorpusSource, Split } from '../data/document.js';
import { countWords, trainBpe } from '../tokenizer/bpe-trainer.js';
import {
  SPECIAL_TOKEN_LIST,
  SPECIAL_TOKENS,
  tokenizerConfigJson,
  tokenizerJson,
} from '../tokenizer/tokenizer-json.js';

/** Bump when corpus reading, splitting or tokenisation changes, so stale caches are not reused. */
const PREP_VERSION = 3;

export interface SourceStats {
  readonly documents: number;
  readonly characters: number;
  readonly tokens: number;
}

export interface PreparedData {
  readonly tokenizer: Record<string, unknown>;
  readonly tokenizerConfig: Record<string, unknown>;
  readonly vocabSize: number;
  /** Token streams: every document as `<s> text </s>`, documents in corpus order. */
  readonly splits: Record<Split, Uint16Array>;
  /** Per split and per source: documents, characters and tokens (with the two markers). */
  readonly stats: Record<Split, Record<CorpusSource, SourceStats>>;
  readonly packages: readonly Omit<CorpusPackage, 'dir'>[];
}

export interface PrepareOptions {
  readonly vocabSize: number;
  readonly contextLength: number;
  /** Where token streams and the tokenizer are cached between runs. */
  readonly cacheDir: string;
  readonly log?: (line: string) => void;
}

/**
 * Corpus -> tokenizer -> token streams. Trains the byte-level BPE on the train split only, then encodes every
 * split with `@huggingface/tokenizers` loading that very tokenizer.json (the code path a user of the model runs).
 * Results are cached in `cacheDir` under a key made of the corpus package versions and the options.
 */
export function prepareData(options: PrepareOptions): PreparedData {
  const log = options.log ?? (() => {});
  const packages = corpusPackages().map(({ dir: _dir, ...rest }) => rest);
  const key = createHash('sha256')
    .update(JSON.stringify({ PREP_VERSION, packages, vocabSize: options.vocabSize }))
    .digest('hex')
    .slice(0, 16);
  const dir = join(options.cacheDir, `data-${key}`);
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    log(`data: using cache ${dir}`);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Omit<PreparedData, 'splits'>;
    const read = (split: Split) => {
      const buf = readFileSync(join(dir, `${split}.u16`));
      return new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2).slice();
    };
    return {
      ...manifest,
      splits: { train: read('train'), validation: read('validation'), test: read('test') },
    };
  }

  const t0 = Date.now();
  const docs = loadCorpus();
  log(`data: read ${docs.length} documents in ${Date.now() - t0} ms`);
  const counts = countWords(docs.filter((d) => d.split === 'train').map((d) => d.text));
  const bpe = trainBpe(counts, { vocabSize: options.vocabSize, specialTokens: SPECIAL_TOKEN_LIST });
  log(`data: trained BPE (${bpe.vocab.size} tokens, ${bpe.merges.length} merges) in ${Date.now() - t0} ms`);
  const tokenizer = tokenizerJson(bpe);
  const tokenizerConfig = tokenizerConfigJson(options.contextLength);
  const tok = new Tokenizer(tokenizer, tokenizerConfig);
  const bos = tok.token_to_id(SPECIAL_TOKENS.bos)!;
  const eos = tok.token_to_id(SPECIAL_TOKENS.eos)!;

  const parts: Record<Split, number[][]> = { train: [], validation: [], test: [] };
  const empty = (): Record<CorpusSource, SourceStats> => ({
    brown: { documents: 0, characters: 0, tokens: 0 },
    wordnet: { documents: 0, characters: 0, tokens: 0 },
    sotu: { documents: 0, characters: 0, tokens: 0 },
    'moby-dick': { documents: 0, characters: 0, tokens: 0 },
  });
  const stats: Record<Split, Record<CorpusSource, SourceStats>> = {
    train: empty(),
    validation: empty(),
    test: empty(),
  };
  for (const doc of docs) {
    const ids = [bos, ...tok.encode(doc.text, { add_special_tokens: false }).ids, eos];
    parts[doc.split].push(ids);
    const s = stats[doc.split][doc.source];
    stats[doc.split][doc.source] = {
      documents: s.documents + 1,
      characters: s.characters + doc.text.length,
      tokens: s.tokens + ids.length,
    };
  }
  const concat = (arrays: number[][]) => {
    const out = new Uint16Array(arrays.reduce((n, a) => n + a.length, 0));
    let o = 0;
    for (const a of arrays) {
      out.set(a, o);
      o += a.length;
    }
    return out;
  };
  const splits = {
    train: concat(parts.train),
    validation: concat(parts.validation),
    test: concat(parts.test),
  };
  log(
    `data: encoded ${docs.length} documents in ${Date.now() - t0} ms (train ${splits.train.length} tokens)`,
  );

  const result: PreparedData = {
    tokenizer,
    tokenizerConfig,
    vocabSize: bpe.vocab.size,
    splits,
    stats,
    packages,
  };
  for (const split of ['train', 'validation', 'test'] as const) {
    const a = splits[split];
    writeFileAtomicSync(join(dir, `${split}.u16`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  const { splits: _s, ...manifest } = result;
  writeFileAtomicSync(manifestPath, JSON.stringify(manifest));
  return result;
}
