import { basename } from 'node:path';
import { OppuError } from '../contracts/errors.js';
import type { HistoryItem } from '../contracts/history.js';
import type { LongWorkOptions } from '../contracts/progress.js';
import { createAtomicWriter } from '../util/atomic-write.js';
import { parseLampInput } from './input-format.js';
import { streamJsonValues } from './json-stream.js';
import type { LampTaskId } from './task-ids.js';
import { LAMP_TASK_FACTS } from './tasks.js';

/** One LaMP question: the input, the user's history (`profile`), and in some releases the user's id. */
export interface LampQuestion {
  readonly id: string;
  readonly input: string;
  readonly profile: readonly HistoryItem[];
  readonly user_id?: string;
}

export interface ReadQuestionsOptions extends LongWorkOptions {
  /** When set, every input must parse as this task and every profile item must carry its fields. */
  readonly task?: LampTaskId;
  /** Name for error messages (default: the file's base name). */
  readonly name?: string;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`.slice(0, 60);
}

/** A string, or a finite number written as one (ids and scores appear as numbers in some copies of LaMP). */
function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/**
 * Checks one raw question and returns it typed. `where` prefixes every message, e.g. `questions.json: item 12`;
 * errors then read `questions.json: item 12 (id "310"): profile[3] has no "text" field`.
 */
export function validateQuestion(raw: unknown, where: string, task?: LampTaskId): LampQuestion {
  if (!isPlainObject(raw)) {
    throw new OppuError(
      'invalid_question',
      `${where}: is ${typeName(raw)}, expected an object {id, input, profile}`,
    );
  }
  if (raw.id === undefined) throw new OppuError('invalid_question', `${where}: has no "id" field`);
  const id = asText(raw.id);
  if (id === undefined) {
    throw new OppuError('invalid_question', `${where}: "id" is ${typeName(raw.id)}, expected a string`);
  }
  const at = `${where} (id ${JSON.stringify(id)})`;
  if (raw.input === undefined) throw new OppuError('invalid_question', `${at}: has no "input" field`);
  if (typeof raw.input !== 'string') {
    throw new OppuError('invalid_question', `${at}: "input" is ${typeName(raw.input)}, expected a string`);
  }
  if (raw.profile === undefined) throw new OppuError('invalid_question', `${at}: has no "profile" field`);
  if (!Array.isArray(raw.profile)) {
    throw new OppuError(
      'invalid_question',
      `${at}: "profile" is ${typeName(raw.profile)}, expected an array`,
    );
  }
  let userId: string | undefined;
  if (raw.user_id !== undefined) {
    userId = asText(raw.user_id);
    if (userId === undefined) {
      throw new OppuError(
        'invalid_question',
        `${at}: "user_id" is ${typeName(raw.user_id)}, expected a string`,
      );
    }
  }
  if (task) parseLampInput(task, raw.input, at);

  const required = task ? LAMP_TASK_FACTS[task].profileFields : [];
  const seen = new Map<string, number>();
  const profile: HistoryItem[] = raw.profile.map((p: unknown, j: number) => {
    const pw = `${at}: profile[${j}]`;
    if (!isPlainObject(p))
      throw new OppuError('invalid_question', `${pw} is ${typeName(p)}, expected an object`);
    // Items are usually all strings: keep the parsed object (no copy, no garbage); copy only to coerce numbers.
    let item = p as Record<string, string>;
    for (const [key, value] of Object.entries(p)) {
      if (typeof value === 'string') continue;
      const text = asText(value);
      if (text === undefined) {
        throw new OppuError(
          'invalid_question',
          `${pw} field "${key}" is ${typeName(value)}, expected a string`,
        );
      }
      if (item === p) item = { ...(p as Record<string, string>) };
      item[key] = text;
    }
    if (item.id === undefined) throw new OppuError('invalid_question', `${pw} has no "id" field`);
    for (const field of required) {
      if (item[field] === undefined) {
        throw new OppuError(
          'invalid_question',
          `${pw} has no "${field}" field (${task} items need ${required.join(', ')})`,
        );
      }
    }
    const previous = seen.get(item.id);
    if (previous !== undefined) {
      throw new OppuError(
        'duplicate_id',
        `${pw} repeats id ${JSON.stringify(item.id)} of profile[${previous}]; profile item ids must be unique`,
      );
    }
    seen.set(item.id, j);
    return item as HistoryItem;
  });
  return userId === undefined
    ? { id, input: raw.input, profile }
    : { id, input: raw.input, profile, user_id: userId };
}

/**
 * Streams the questions of a LaMP questions file, validated one by one. Memory stays near one question plus a
 * read buffer, whatever the file's size. Duplicate question ids are an error (the set of ids is kept).
 */
export async function* streamQuestions(
  path: string,
  options: ReadQuestionsOptions = {},
): AsyncGenerator<LampQuestion> {
  const name = options.name ?? basename(path);
  const ids = new Map<string, number>();
  let index = 0;
  const started = Date.now();
  for await (const { value } of streamJsonValues(path, {
    paths: ['$.*'],
    topLevel: 'array',
    name,
    signal: options.signal,
    onBytes: options.onProgress
      ? (done, total) => {
          const seconds = (Date.now() - started) / 1000;
          options.onProgress!({
            phase: 'read',
            done,
            total,
            message: `${index} questions`,
            etaSeconds: done > 0 ? (seconds * (total - done)) / done : undefined,
          });
        }
      : undefined,
  })) {
    const q = validateQuestion(value, `${name}: item ${index}`, options.task);
    const first = ids.get(q.id);
    if (first !== undefined) {
      throw new OppuError(
        'duplicate_id',
        `${name}: item ${index} (id ${JSON.stringify(q.id)}): the id is already used by item ${first}; question ids must be unique`,
      );
    }
    ids.set(q.id, index);
    index++;
    yield q;
  }
}

/** Calls `onQuestion` for each question as it is read (the callback form of `streamQuestions`). */
export async function forEachQuestion(
  path: string,
  onQuestion: (q: LampQuestion, index: number) => void | Promise<void>,
  options: ReadQuestionsOptions = {},
): Promise<number> {
  let n = 0;
  for await (const q of streamQuestions(path, options)) await onQuestion(q, n++);
  return n;
}

/** Reads a whole questions file into memory (for files that fit; use `streamQuestions` for big ones). */
export async function readQuestions(
  path: string,
  options: ReadQuestionsOptions = {},
): Promise<LampQuestion[]> {
  const out: LampQuestion[] = [];
  for await (const q of streamQuestions(path, options)) out.push(q);
  return out;
}

/** Writes questions in the official format, streaming item by item, atomically (temp file + rename). */
export async function writeQuestions(
  path: string,
  questions: Iterable<LampQuestion> | AsyncIterable<LampQuestion>,
): Promise<number> {
  const w = await createAtomicWriter(path);
  let n = 0;
  try {
    await w.write('[');
    for await (const q of questions) {
      await w.write(`${n === 0 ? '\n' : ',\n'}${JSON.stringify(q)}`);
      n++;
    }
    await w.write(n === 0 ? ']\n' : '\n]\n');
    await w.commit();
  } catch (error) {
    await w.abort();
    throw error;
  }
  return n;
}
