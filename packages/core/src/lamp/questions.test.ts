import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OppuError } from '../contracts/errors.js';
import type { ProgressEvent } from '../contracts/progress.js';
import { formatLampInput } from './input-format.js';
import {
  forEachQuestion,
  type LampQuestion,
  readQuestions,
  streamQuestions,
  writeQuestions,
} from './questions.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oppu-questions-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const q = (id: string, text = 'body'): LampQuestion => ({
  id,
  input: formatLampInput('LaMP_4', { text }),
  profile: [
    { id: `${id}-1`, text: 'a story', title: 'A Title', date: '2020-01-02' },
    { id: `${id}-2`, text: 'another', title: 'Another' },
  ],
});

async function file(name: string, content: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, content);
  return p;
}

async function errorOf(p: Promise<unknown>): Promise<OppuError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OppuError);
    return e as OppuError;
  }
  throw new Error('expected an OppuError');
}

describe('LaMP questions IO', () => {
  it('writes and reads back questions, streaming and whole', async () => {
    const p = join(dir, 'q.json');
    const qs = [q('1'), q('2'), { ...q('3'), user_id: 'u3' }];
    expect(await writeQuestions(p, qs)).toBe(3);
    expect(await readQuestions(p, { task: 'LaMP_4' })).toEqual(qs);
    const ids: string[] = [];
    for await (const item of streamQuestions(p)) ids.push(item.id);
    expect(ids).toEqual(['1', '2', '3']);
    expect(await forEachQuestion(p, () => {})).toBe(3);
    expect(JSON.parse(await readFile(p, 'utf8'))).toEqual(qs);
  });

  it('reports progress in bytes', async () => {
    const p = join(dir, 'progress.json');
    await writeQuestions(p, [q('1'), q('2')]);
    const events: ProgressEvent[] = [];
    await readQuestions(p, { onProgress: (e) => events.push(e) });
    expect(events.at(-1)?.done).toBe(events.at(-1)?.total);
  });

  it('names file, item, id and field when a profile item lacks a task field', async () => {
    const items = Array.from({ length: 13 }, (_, i) => q(String(300 + i)));
    const bad = { ...items[12]!, profile: [...items[12]!.profile] };
    bad.profile.push({ id: 'x', title: 't' }, { id: 'y', text: 'ok', title: 'ok' });
    bad.profile.splice(2, 0, { id: 'z', text: 'fine', title: 'fine' });
    const broken = { ...bad, profile: bad.profile.map((p, j) => (j === 3 ? { id: 'x', title: 't' } : p)) };
    items[12] = broken;
    const p = await file('questions.json', JSON.stringify(items));
    const e = await errorOf(readQuestions(p, { task: 'LaMP_4' }));
    expect(e.message).toBe(
      'questions.json: item 12 (id "312"): profile[3] has no "text" field (LaMP_4 items need text, title)',
    );
  });

  it('rejects duplicate ids, wrong types, truncated JSON and other shapes', async () => {
    const dup = await file('dup.json', JSON.stringify([q('1'), q('2'), q('1')]));
    expect((await errorOf(readQuestions(dup))).message).toMatch(
      /^dup\.json: item 2 \(id "1"\): the id is already used by item 0/,
    );

    const wrongType = await file('type.json', JSON.stringify([{ ...q('1'), input: 42 }]));
    expect((await errorOf(readQuestions(wrongType))).message).toBe(
      'type.json: item 0 (id "1"): "input" is number 42, expected a string',
    );

    const nested = await file(
      'nested.json',
      JSON.stringify([{ ...q('1'), profile: [{ id: '1', text: ['a'] }] }]),
    );
    expect((await errorOf(readQuestions(nested))).message).toMatch(/profile\[0\] field "text" is an array/);

    const full = JSON.stringify([q('1'), q('2')]);
    const truncated = await file('trunc.json', full.slice(0, full.length - 30));
    const t = await errorOf(readQuestions(truncated));
    expect(t.code).toBe('invalid_json');
    expect(t.message).toMatch(/^trunc\.json: JSON ends early: the file is truncated/);

    const garbage = await file('garbage.json', '[{"id": "1", "input": "x", "profile": [}]');
    expect((await errorOf(readQuestions(garbage))).message).toMatch(/^garbage\.json: not valid JSON/);

    const object = await file('object.json', JSON.stringify({ task: 'LaMP_4', golds: [] }));
    expect((await errorOf(readQuestions(object))).message).toMatch(/expected a JSON array/);

    const empty = await file('empty.json', '  \n');
    expect((await errorOf(readQuestions(empty))).message).toBe('empty.json: is empty (expected JSON)');

    expect((await errorOf(readQuestions(join(dir, 'missing.json')))).message).toBe(
      'missing.json: no such file',
    );

    const noProfile = await file('noprofile.json', JSON.stringify([{ id: '9', input: 'x' }]));
    expect((await errorOf(readQuestions(noProfile))).message).toBe(
      'noprofile.json: item 0 (id "9"): has no "profile" field',
    );
  });

  it('checks the input against the task when one is given', async () => {
    const p = await file('wrongtask.json', JSON.stringify([q('1')]));
    const e = await errorOf(readQuestions(p, { task: 'LaMP_3' }));
    expect(e.code).toBe('input_mismatch');
    expect(e.message).toMatch(/^wrongtask\.json: item 0 \(id "1"\): .* is not a LaMP_3 input/);
  });

  it('rejects repeated profile item ids within a question', async () => {
    const bad = {
      ...q('1'),
      profile: [
        { id: 'a', text: 't', title: 'x' },
        { id: 'a', text: 'u', title: 'y' },
      ],
    };
    const p = await file('dupprofile.json', JSON.stringify([bad]));
    expect((await errorOf(readQuestions(p))).message).toMatch(/profile\[1\] repeats id "a" of profile\[0\]/);
  });

  it('stops when the signal is aborted', async () => {
    const p = join(dir, 'abort.json');
    await writeQuestions(p, [q('1')]);
    const ac = new AbortController();
    ac.abort();
    expect((await errorOf(readQuestions(p, { signal: ac.signal }))).code).toBe('aborted');
  });
});
