/**
 * GPT-2 byte-level alphabet: every byte 0..255 maps to one printable Unicode character, so a byte string can be
 * stored as a plain JSON string in `tokenizer.json` (a space is `Ġ`, a newline `Ċ`). Identical to
 * `bytes_to_unicode()` in GPT-2 and to the table inside HF tokenizers' ByteLevel pre-tokenizer and decoder.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table: string[] = new Array(256);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(printable.includes(b) ? b : 256 + next++);
  }
  return table;
})();

/**
 * The GPT-2 pre-tokenisation pattern, as HF tokenizers' ByteLevel pre-tokenizer uses it with `use_regex: true`:
 * contractions, optional space + letters, optional space + digits, optional space + other symbols, whitespace.
 * Training must split text exactly as encoding will, so this is the one pattern both use.
 */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Splits text into pre-tokens (words with their leading space). */
export function preTokenize(text: string): string[] {
  return text.match(GPT2_PATTERN) ?? [];
}
