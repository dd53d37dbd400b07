import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ggufTokenizerFromHf, HfTokenizer } from '@oppu/trainer';
import { describe, expect, it } from 'vitest';
import {
  decodeRate,
  firstDifference,
  growByteLevelVocab,
  kernelBreakdown,
  median,
  prefillRate,
  promptOfLength,
} from './helpers.js';

const modelDir = fileURLToPath(new URL('../../packages/model-tiny/model/', import.meta.url));
const tokenizerJson = JSON.parse(readFileSync(`${modelDir}tokenizer.json`, 'utf8')) as Record<
  string,
  unknown
>;
const tokenizerConfig = JSON.parse(readFileSync(`${modelDir}tokenizer_config.json`, 'utf8')) as Record<
  string,
  unknown
>;
const TEXT = 'Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail about.';

describe('growByteLevelVocab', () => {
  const grown = growByteLevelVocab(tokenizerJson, 49152);
  const model = grown.model as { vocab: Record<string, number>; merges: [string, string][] };
  const old = tokenizerJson.model as { vocab: Record<string, number>; merges: unknown[] };

  it('gives every id of SmolLM2-135M a real token: 49152 distinct ids 0..49151, none padded in the GGUF', () => {
    const ids = Object.values(model.vocab).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 49152 }, (_, i) => i));
    const gguf = ggufTokenizerFromHf(grown, tokenizerConfig, 49152);
    expect(gguf.tokens).toHaveLength(49152);
    expect(gguf.tokens.filter((t) => t.startsWith('[PAD'))).toEqual([]);
    expect(gguf.merges).toHaveLength(model.merges.length);
  });

  it('keeps the old tokens, ids and merges first; each new merge joins two tokens into the next new id', () => {
    const moved = Object.entries(old.vocab).filter(([token, id]) => model.vocab[token] !== id);
    expect(moved).toEqual([]);
    expect(model.merges.slice(0, old.merges.length)).toEqual(old.merges);
    const added = model.merges.slice(old.merges.length);
    expect(added).toHaveLength(49152 - 4096);
    const wrong = added.filter(
      ([a, b], i) =>
        !(
          (model.vocab[a] as number) < 4096 + i &&
          (model.vocab[b] as number) < 4096 + i &&
          model.vocab[a + b] === 4096 + i
        ),
    );
    expect(wrong).toEqual([]);
    expect(tokenizerJson.model).toBe(old); // the input is not changed
    expect(Object.keys(old.vocab)).toHaveLength(4096);
  });

  it('tokenizes text as before (the new merges rank last) and reaches the new tokens', () => {
    const tok = new HfTokenizer(grown, tokenizerConfig);
    expect(tok.vocabSize).toBe(49152);
    const ids = tok.encode(TEXT);
    expect(ids[0]).toBe(1);
    expect(tok.decode(ids)).toBe(TEXT);
    expect(ids).toEqual(new HfTokenizer(tokenizerJson, tokenizerConfig).encode(TEXT));
    // A new word-like token ("Ġ" is the byte-level space) encodes to its own id when it is the whole text.
    const words = Object.entries(model.vocab)
      .filter(([t, id]) => id >= 4096 && /^Ġ[a-z]+$/.test(t))
      .slice(0, 200);
    const reached = words.filter(
      ([t, id]) => tok.encode(t.replace('Ġ', ' '), { addSpecialTokens: false }).join() === `${id}`,
    );
    expect(reached.length).toBeGreaterThan(20);
  });

  it('refuses what it cannot grow, naming the file', () => {
    expect(() => growByteLevelVocab(tokenizerJson, 100)).toThrow(
      'tokenizer.json: has 4096 tokens already, more than the 100 asked for',
    );
    expect(() => growByteLevelVocab({ model: { type: 'Unigram' } }, 10, 'x/tokenizer.json')).toThrow(
      'x/tokenizer.json: model is not a BPE model',
    );
    const m = tokenizerJson.model as { vocab: Record<string, number> };
    const gap = { ...tokenizerJson, model: { ...m, vocab: { ...m.vocab, extra: 5000 } } };
    expect(() => growByteLevelVocab(gap, 6000)).toThrow('no id 4096');
  });
});

describe('promptOfLength', () => {
  const encode = (text: string) => [1, ...text.split(' ').map((w) => w.length)];
  it('repeats the text until it has enough ids, then cuts to exactly n', () => {
    expect(promptOfLength(encode, 'a bb ccc', 3)).toEqual([1, 1, 2]);
    expect(promptOfLength(encode, 'a bb ccc', 8)).toEqual([1, 1, 2, 3, 1, 2, 3, 1]);
    expect(() => promptOfLength(encode, 'a', 0)).toThrow('n must be a positive integer');
  });
});

describe('rates', () => {
  it('prefill: prompt tokens over the time to the first token', () => {
    expect(prefillRate(256, { start: 1000, stamps: [1500] })).toBe(512);
    expect(() => prefillRate(256, { start: 0, stamps: [] })).toThrow('no token');
  });
  it('decode: tokens after the first over the time from the first to the last', () => {
    // 5 tokens: the prefill took 900 ms, then 4 steps of 25 ms.
    expect(decodeRate({ start: 0, stamps: [900, 925, 950, 975, 1000] })).toBe(40);
    expect(() => decodeRate({ start: 0, stamps: [900] })).toThrow('at least 2 tokens');
  });
  it('median and firstDifference', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(firstDifference([1, 2, 3], [1, 2, 3])).toBe(-1);
    expect(firstDifference([1, 2, 3], [1, 5, 3])).toBe(1);
    expect(firstDifference([1, 2], [1, 2, 3])).toBe(2);
  });
});

describe('kernelBreakdown', () => {
  it('sums the calls of each kernel, largest first, and counts the time outside every kernel', () => {
    const rows = kernelBreakdown(
      [
        { name: 'MatMul', kernelTimeMs: 30 },
        { name: 'Add', kernelTimeMs: 5 },
        { name: 'MatMul', kernelTimeMs: 20 },
        { name: 'Softmax', kernelTimeMs: { error: 'no timer' } },
      ],
      100,
      2,
    );
    expect(rows).toEqual([
      { name: 'MatMul', calls: 2, ms: 50, share: 0.5 },
      { name: 'Add', calls: 1, ms: 5, share: 0.05 },
      { name: '(outside kernels)', calls: 0, ms: 45, share: 0.45 },
    ]);
  });
});
