import { describe, expect, it } from 'vitest';
import { OppuError } from '../contracts/errors.js';
import { scoreLamp } from './score-lamp.js';

const o = (pairs: [string, string][]) => ({ golds: pairs.map(([id, output]) => ({ id, output })) });

describe('scoreLamp', () => {
  it('picks the metrics by task kind, matching items by id', () => {
    expect(
      scoreLamp(
        'LaMP_3',
        o([
          ['a', '5'],
          ['b', '1'],
        ]),
        o([
          ['b', '2'],
          ['a', '5'],
        ]),
      ),
    ).toEqual({
      task: 'LaMP_3',
      count: 2,
      MAE: 0.5,
      RMSE: Math.sqrt(0.5),
    });
    const c = scoreLamp(
      'LaMP_2M',
      o([
        ['1', 'comedy'],
        ['2', 'action'],
      ]),
      o([
        ['1', 'comedy'],
        ['2', 'Action'],
      ]),
    );
    expect(c).toMatchObject({ task: 'LaMP_2M', count: 2, accuracy: 0.5 });
    // comedy 1, action 0, 13 absent tags 0 -> 1/15
    expect((c as { f1: number }).f1).toBeCloseTo(1 / 15, 12);
    expect(scoreLamp('LaMP_7', o([['1', 'Hello there']]), o([['1', 'hello there!']]))).toEqual({
      task: 'LaMP_7',
      count: 1,
      'rouge-1': 1,
      'rouge-L': 1,
    });
  });

  it('lists the ids that do not match', () => {
    let e: unknown;
    try {
      scoreLamp(
        'LaMP_4',
        o([
          ['1', 'x'],
          ['2', 'y'],
        ]),
        o([
          ['1', 'x'],
          ['3', 'z'],
        ]),
        { golds: 'G.json', preds: 'P.json' },
      );
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(OppuError);
    expect((e as Error).message).toBe(
      'P.json does not match G.json: 1 gold id(s) have no prediction: "2"; 1 prediction id(s) are not in the golds: "3"',
    );
  });
});
