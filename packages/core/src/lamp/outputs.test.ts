import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OppuError } from '../contracts/errors.js';
import { outputsTask, readOutputs, writeOutputs } from './outputs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oppu-outputs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LaMP outputs IO', () => {
  it('round-trips an outputs file', async () => {
    const p = join(dir, 'out.json');
    const o = {
      task: 'LaMP_3',
      golds: [
        { id: '1', output: '5' },
        { id: '2', output: '3' },
      ],
    };
    await writeOutputs(p, o);
    expect(await readOutputs(p)).toEqual(o);
  });

  it('reads numbers as strings, like the official scorer', async () => {
    const p = join(dir, 'nums.json');
    await writeFile(p, JSON.stringify({ golds: [{ id: 7, output: 4 }], task: 'LaMP_3' }));
    expect(await readOutputs(p)).toEqual({ task: 'LaMP_3', golds: [{ id: '7', output: '4' }] });
  });

  it('refuses a number too large for a double (it would read as Infinity), naming the file, entry and id', async () => {
    const p = join(dir, 'huge.json');
    await writeFile(p, '{"task":"LaMP_3","golds":[{"id":"a","output":3},{"id":"b","output":1e999}]}');
    await expect(readOutputs(p)).rejects.toThrow(
      /^huge\.json: golds\[1\] \(id "b"\): "output" is a number too large to represent \(it reads as Infinity\)/,
    );
    await writeFile(p, '{"task":"LaMP_3","golds":[{"id":-1e400,"output":3}]}');
    await expect(readOutputs(p)).rejects.toThrow(/^huge\.json: golds\[0\]: "id" is a number too large/);
  });

  it('rejects duplicates, missing fields and missing task', async () => {
    const cases: [string, unknown, RegExp][] = [
      [
        'dup.json',
        {
          task: 'LaMP_4',
          golds: [
            { id: '1', output: 'a' },
            { id: '1', output: 'b' },
          ],
        },
        /golds\[1\] \(id "1"\) repeats the id of golds\[0\]/,
      ],
      [
        'noout.json',
        { task: 'LaMP_4', golds: [{ id: '1' }] },
        /^noout\.json: golds\[0\] \(id "1"\) has no string "output"/,
      ],
      ['notask.json', { golds: [] }, /^notask\.json: has no "task" field/],
      ['nogolds.json', { task: 'LaMP_4' }, /has no "golds" array/],
      ['array.json', [], /expected a JSON object/],
    ];
    for (const [name, content, re] of cases) {
      const p = join(dir, name);
      await writeFile(p, JSON.stringify(content));
      await expect(readOutputs(p)).rejects.toThrow(re);
      await expect(readOutputs(p)).rejects.toBeInstanceOf(OppuError);
    }
  });

  it('tells LaMP_2 movie from news by the gold labels', () => {
    expect(outputsTask({ task: 'LaMP_2', golds: [{ id: '1', output: 'sci-fi' }] })).toBe('LaMP_2M');
    expect(outputsTask({ task: 'LaMP_2', golds: [{ id: '1', output: 'food & drink' }] })).toBe('LaMP_2N');
    expect(() => outputsTask({ task: 'LaMP_2', golds: [{ id: '1', output: 'x' }] })).toThrow(/pass --task/);
    expect(outputsTask({ task: 'LaMP_5', golds: [] })).toBe('LaMP_5');
  });
});
