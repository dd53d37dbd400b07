import { basename } from 'node:path';
import { OppuError } from '../contracts/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { streamJsonValues } from './json-stream.js';
import { LAMP_2M_TAGS, LAMP_2N_CATEGORIES } from './labels.js';
import { isLampTaskId, type LampTaskId, lampTaskId } from './task-ids.js';

export interface LampOutput {
  readonly id: string;
  readonly output: string;
}

/** An outputs (golds) or predictions file: `{task, golds: [{id, output}]}`. */
export interface LampOutputs {
  readonly task: string;
  readonly golds: readonly LampOutput[];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads an outputs or predictions file, validating as it goes: every entry needs a string `id` and an `output`
 * (a finite number is taken as its string, as the official scorer's `str(pred)` does), ids must be unique, `task`
 * must be present.
 */
export async function readOutputs(path: string, options: { name?: string } = {}): Promise<LampOutputs> {
  const name = options.name ?? basename(path);
  let task: string | undefined;
  let sawGolds = false;
  const golds: LampOutput[] = [];
  const ids = new Map<string, number>();
  for await (const { value, key, depth } of streamJsonValues(path, {
    paths: ['$.task', '$.golds', '$.golds.*'],
    topLevel: 'object',
    name,
  })) {
    if (depth === 1 && key === 'task') {
      if (typeof value !== 'string')
        throw new OppuError('invalid_outputs', `${name}: "task" must be a string`);
      task = value;
      continue;
    }
    if (depth === 1 && key === 'golds') {
      if (!Array.isArray(value)) throw new OppuError('invalid_outputs', `${name}: "golds" must be an array`);
      sawGolds = true;
      continue;
    }
    const i = golds.length;
    const where = `${name}: golds[${i}]`;
    if (!isPlainObject(value))
      throw new OppuError('invalid_outputs', `${where} is not an object {id, output}`);
    const id = typeof value.id === 'number' ? String(value.id) : value.id;
    if (typeof id !== 'string') throw new OppuError('invalid_outputs', `${where} has no string "id"`);
    // JSON has no NaN or infinity, but a number too large for a double (1e999) reads as Infinity.
    if (typeof value.id === 'number' && !Number.isFinite(value.id)) {
      throw new OppuError(
        'invalid_outputs',
        `${where}: "id" is a number too large to represent; write it as a string`,
      );
    }
    if (typeof value.output === 'number' && !Number.isFinite(value.output)) {
      throw new OppuError(
        'invalid_outputs',
        `${where} (id ${JSON.stringify(id)}): "output" is a number too large to represent (it reads as ${value.output}); write a finite number`,
      );
    }
    const out = typeof value.output === 'number' ? String(value.output) : value.output;
    if (typeof out !== 'string') {
      throw new OppuError(
        'invalid_outputs',
        `${where} (id ${JSON.stringify(id)}) has no string "output" field`,
      );
    }
    const first = ids.get(id);
    if (first !== undefined) {
      throw new OppuError(
        'duplicate_id',
        `${where} (id ${JSON.stringify(id)}) repeats the id of golds[${first}]`,
      );
    }
    ids.set(id, i);
    golds.push({ id, output: out });
  }
  if (task === undefined)
    throw new OppuError('invalid_outputs', `${name}: has no "task" field (e.g. "LaMP_3")`);
  if (!sawGolds) throw new OppuError('invalid_outputs', `${name}: has no "golds" array`);
  return { task, golds };
}

/** Writes an outputs/predictions file atomically. */
export async function writeOutputs(path: string, outputs: LampOutputs): Promise<void> {
  const lines = outputs.golds.map((g) => JSON.stringify({ id: g.id, output: g.output }));
  const body = `{"task":${JSON.stringify(outputs.task)},"golds":[${lines.length ? `\n${lines.join(',\n')}\n` : ''}]}\n`;
  await writeFileAtomic(path, body);
}

/**
 * The task of an outputs file. The official LaMP files say `LaMP_2` for both the movie and the (older) news
 * version; then the gold labels decide: all movie tags -> LaMP_2M, all news categories -> LaMP_2N.
 */
export function outputsTask(outputs: LampOutputs, name = 'outputs'): LampTaskId {
  if (isLampTaskId(outputs.task)) return outputs.task;
  if (/^lamp[-_]2$/i.test(outputs.task)) {
    const labels = outputs.golds.map((g) => g.output.trim());
    const movie = new Set<string>(LAMP_2M_TAGS);
    const news = new Set<string>(LAMP_2N_CATEGORIES);
    if (labels.length > 0 && labels.every((l) => movie.has(l))) return 'LaMP_2M';
    if (labels.length > 0 && labels.every((l) => news.has(l))) return 'LaMP_2N';
    throw new OppuError(
      'ambiguous_task',
      `${name}: task "${outputs.task}" could be movie tagging or news categorization and the golds don't tell; pass --task LaMP_2M or LaMP_2N`,
    );
  }
  return lampTaskId(outputs.task, `${name}: task`);
}
