import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Bm25, rankDescending } from './bm25.js';
import { oppuTokenizer, whitespaceTokenizer, wordTokenizer } from './tokenizers.js';

/** Parses Python's float.hex() output exactly. */
function fromHex(hex: string): number {
  const m = /^(-?)0x([01])\.([0-9a-f]*)p([+-]\d+)$/.exec(hex);
  if (!m) throw new Error(`bad hex float ${hex}`);
  const [, sign, lead, frac = '', exp] = m;
  let mantissa = Number(lead);
  for (let i = 0; i < frac.length; i++) mantissa += Number.parseInt(frac[i] as string, 16) / 16 ** (i + 1);
  return (sign ? -1 : 1) * mantissa * 2 ** Number(exp);
}

describe('Bm25 (rank_bm25.BM25Okapi)', () => {
  it('matches hand-computed scores on a three-document corpus', () => {
    // N = 3; |d| = 3, 2, 4; avgdl = 3.
    // df: cat 2 -> idf ln(1.5) - ln(2.5) = -0.5108 < 0;  dog 1 -> ln(2.5) - ln(1.5) = 0.5108;
    //     the 3 -> ln(0.5) - ln(3.5) = -1.9459;  sat 1, mat 1, ran 1 -> 0.5108 each.
    // mean idf over the 6 terms = (-0.5108 + 4 * 0.5108 - 1.9459) / 6 = -0.06891; eps = 0.25 * mean = -0.017227.
    const corpus = [
      ['the', 'cat', 'sat'],
      ['the', 'dog'],
      ['the', 'cat', 'mat', 'ran'],
    ];
    const bm25 = new Bm25(corpus);
    const ln = Math.log;
    const high = ln(2.5) - ln(1.5);
    const mean = (-high + 4 * high + (ln(0.5) - ln(3.5))) / 6;
    expect(bm25.averageIdf).toBeCloseTo(mean, 12);
    expect(bm25.idfOf('cat')).toBeCloseTo(0.25 * mean, 12);
    expect(bm25.idfOf('the')).toBeCloseTo(0.25 * mean, 12);
    expect(bm25.idfOf('dog')).toBeCloseTo(0.5108256237659907, 12);
    expect(bm25.idfOf('unicorn')).toBe(0);
    // score(doc1, "dog") = idf * 1 * 2.5 / (1 + 1.5 * (0.25 + 0.75 * 2 / 3)) = 0.5108 * 2.5 / 2.125
    const s = bm25.scores(['dog', 'dog', 'unicorn']);
    expect(s[1]).toBeCloseTo(2 * ((0.5108256237659907 * 2.5) / 2.125), 12);
    expect(s[0]).toBe(0);
    expect(s[2]).toBe(0);
    // "mat": only doc 2, |d| = 4: 0.5108 * 2.5 / (1 + 1.5 * (0.25 + 1)) = 0.5108 * 2.5 / 2.875
    expect(bm25.scores(['mat'])[2]).toBeCloseTo((0.5108256237659907 * 2.5) / 2.875, 12);
    expect(bm25.topN(['dog'], 2)).toEqual([1, 2]); // doc 1 first; ties (0, 2 at 0) by later index first
  });

  it('is bit-identical to rank_bm25 0.2.2 scores and get_top_n order (Python reference fixture)', () => {
    const cases = JSON.parse(
      readFileSync(new URL('../test-fixtures/rank-bm25-reference.json', import.meta.url), 'utf8'),
    ) as {
      docs: string[];
      idf: Record<string, string>;
      queries: { query: string; scores: string[]; topIdx: number[] }[];
    }[];
    let checked = 0;
    for (const c of cases) {
      const bm25 = new Bm25(c.docs.map(oppuTokenizer));
      for (const [word, hex] of Object.entries(c.idf)) expect(bm25.idfOf(word)).toBe(fromHex(hex));
      for (const q of c.queries) {
        const got = Array.from(bm25.scores(oppuTokenizer(q.query)));
        expect(got).toEqual(q.scores.map(fromHex));
        expect(bm25.topN(oppuTokenizer(q.query), 5)).toEqual(q.topIdx);
        checked++;
      }
    }
    expect(checked).toBe(24);
  });

  it('handles an empty corpus and empty queries', () => {
    const empty = new Bm25([]);
    expect(empty.scores(['a']).length).toBe(0);
    expect(empty.topN(['a'], 3)).toEqual([]);
    expect(new Bm25([['a']]).topN([], 3)).toEqual([0]);
  });

  it('rankDescending breaks ties by the later index, like reversed stable argsort', () => {
    expect(rankDescending([1, 3, 1, 3, 0], 5)).toEqual([3, 1, 2, 0, 4]);
  });
});

describe('tokenizers', () => {
  it('oppu splits on single spaces exactly like Python split(" ")', () => {
    expect(oppuTokenizer('a  b tag:\nx ')).toEqual(['a', '', 'b', 'tag:\nx', '']);
  });
  it('whitespace is Python str.split()', () => {
    expect(whitespaceTokenizer('  a \n b\t')).toEqual(['a', 'b']);
    expect(whitespaceTokenizer('   ')).toEqual([]);
  });
  it('words lower-cases, splits punctuation and drops stop words', () => {
    expect(wordTokenizer()("The Cat's hat, and THE dog-house!")).toEqual(["cat's", 'hat', 'dog', 'house']);
    expect(wordTokenizer({ stopWords: [], lowercase: false })('The cat')).toEqual(['The', 'cat']);
  });
});

describe('rankDescending on large inputs', () => {
  it('the bounded selection equals a full stable sort, ties included', () => {
    let a = 12345;
    const scores = Array.from({ length: 5000 }, () => {
      a = (a * 1103515245 + 12345) % 2147483648;
      return a % 7 === 0 ? 0 : Math.floor((a / 2147483648) * 50) / 10; // many ties
    });
    const full = Array.from({ length: scores.length }, (_, i) => i).sort(
      (x, y) => (scores[y] as number) - (scores[x] as number) || y - x,
    );
    for (const n of [1, 3, 10, 100]) expect(rankDescending(scores, n)).toEqual(full.slice(0, n));
  });
});
