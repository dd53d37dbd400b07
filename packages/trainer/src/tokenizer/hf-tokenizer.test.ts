import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HfTokenizer } from './hf-tokenizer.js';
import { tinyTokenizerJson } from './tiny-tokenizer.js';

describe('HfTokenizer', () => {
  const { json, config } = tinyTokenizerJson();
  const tok = new HfTokenizer(json, config);

  it('encodes with BOS from the template, decodes back, and knows its special ids', () => {
    expect([tok.bosId, tok.eosId, tok.padId]).toEqual([1, 2, 3]);
    const ids = tok.encode('hello world');
    expect(ids[0]).toBe(1);
    expect(ids).toHaveLength(3); // <s> ▁hello ▁world: the merges built whole words
    expect(tok.idToToken(ids[1] as number)).toBe('▁hello');
    expect(tok.encode('hello world', { addSpecialTokens: false })).toEqual(ids.slice(1));
    expect(tok.decode([...ids, 2])).toBe('hello world');
    expect(tok.decode([...ids, 2], { skipSpecialTokens: false })).toBe('<s> hello world</s>');
    // Unknown words fall back to letters.
    expect(tok.decode(tok.encode('the cab sat'))).toBe('the cab sat');
    expect(tok.decode([])).toBe('');
    expect(tok.vocabSize).toBeGreaterThan(40);
  });

  it('treats special-token strings in plain text as characters unless asked to parse them', () => {
    const typed = tok.encode('the </s> cat');
    expect(typed).not.toContain(2); // no EOS smuggled in by the text
    expect(typed[0]).toBe(1); // the template's BOS is still there
    expect(tok.encode('the </s> cat', { parseSpecialTokens: true })).toContain(2);
  });

  it('loads tokenizer.json and tokenizer_config.json from a folder', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'oppu-tok-'));
    try {
      await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
      await writeFile(
        path.join(dir, 'tokenizer_config.json'),
        JSON.stringify({ ...config, pad_token: '</s>' }),
      );
      const loaded = await HfTokenizer.load(dir);
      expect(loaded.padId).toBe(2);
      expect(loaded.encode('the cat')).toEqual(tok.encode('the cat'));
      await expect(HfTokenizer.load(path.join(dir, 'missing'))).rejects.toThrow(
        /missing: cannot read the tokenizer/,
      );
      await writeFile(path.join(dir, 'tokenizer.json'), '{nope');
      await expect(HfTokenizer.load(dir)).rejects.toThrow(/tokenizer.json: is not valid JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads at most maxChars characters of a text: a 2 MB word costs what its first 256 Ki do', () => {
    const giant = 'ab'.repeat(2 ** 20);
    const started = performance.now();
    const ids = tok.encode(giant);
    expect(performance.now() - started).toBeLessThan(10_000); // whole, it took 21 s (and 576 MB) on the tiny model
    expect(ids).toEqual(tok.encode(giant.slice(0, tok.maxChars)));
    const small = new HfTokenizer(json, config, {}, { maxChars: 5 });
    expect(small.encode('the cat sat')).toEqual(small.encode('the c'));
    expect(() => new HfTokenizer(json, config, {}, { maxChars: 0 })).toThrow(
      /maxChars must be a positive integer/,
    );
  });

  it('refuses a special token that is not in the vocabulary', () => {
    expect(() => new HfTokenizer(json, { eos_token: '<|im_end|>' })).toThrow(
      /eos_token "<\|im_end\|>" is not in the vocabulary/,
    );
  });
});
