// Pure helpers of bench:decode (no tfjs, no llama.cpp): the byte-level vocabulary grown to a real model's
// size, a prompt of an exact token count, and tokens/s from the times at which the tokens came out.

type Json = Record<string, unknown>;

/**
 * Suffixes of the new merges: the byte-level alphabet's letters, most frequent English letters first (GPT-2's
 * byte-level alphabet maps printable ASCII to itself).
 */
const SUFFIXES = [...'etaoinshrdlcumwfgypbvkjxqz'];

/**
 * A copy of a byte-level BPE `tokenizer.json` whose vocabulary has exactly `size` ids, all of them real tokens
 * (a random checkpoint of SmolLM2-135M's shape has 49152 ids; our trained byte-level tokenizer has 4096).
 * New ids are merges appended after the existing ones, so they rank last and every text the old merges split
 * is split the same way up to them: for each letter in SUFFIXES, then each existing non-special token in id
 * order, the merge (token, letter) whose result is not yet a token, until the vocabulary is full.
 */
export function growByteLevelVocab(tokenizerJson: Json, size: number, where = 'tokenizer.json'): Json {
  const model = tokenizerJson.model as Json | undefined;
  if (model?.type !== 'BPE' || typeof model.vocab !== 'object' || !Array.isArray(model.merges))
    throw new Error(`${where}: model is not a BPE model with a vocab and merges`);
  const vocab = { ...(model.vocab as Record<string, number>) };
  const added = (tokenizerJson.added_tokens ?? []) as { content: string; id: number }[];
  const specials = new Set(added.map((t) => t.content));
  const ids = new Set([...Object.values(vocab), ...added.map((t) => t.id)]);
  const count = ids.size;
  for (let id = 0; id < count; id++)
    if (!ids.has(id)) throw new Error(`${where}: the token ids are not 0..${count - 1} (no id ${id})`);
  if (size < count) throw new Error(`${where}: has ${count} tokens already, more than the ${size} asked for`);
  for (const s of SUFFIXES)
    if (!(s in vocab)) throw new Error(`${where}: the byte-level alphabet has no token "${s}"`);
  const bases = Object.entries(vocab)
    .filter(([token]) => !specials.has(token))
    .sort((a, b) => a[1] - b[1])
    .map(([token]) => token);
  const merges: unknown[] = [...(model.merges as unknown[])];
  const asStrings = typeof merges[0] === 'string';
  let next = count;
  for (const suffix of SUFFIXES) {
    for (const base of bases) {
      if (next >= size) break;
      const token = base + suffix;
      if (token in vocab) continue;
      vocab[token] = next++;
      merges.push(asStrings ? `${base} ${suffix}` : [base, suffix]);
    }
  }
  if (next < size)
    throw new Error(`${where}: could make only ${next} tokens of the ${size} asked for by merging letters`);
  return { ...tokenizerJson, model: { ...model, vocab, merges } };
}

/** The first `n` ids of `text` repeated (space-separated) until it encodes to at least `n` ids. */
export function promptOfLength(encode: (text: string) => number[], text: string, n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`promptOfLength: n must be a positive integer, got ${n}`);
  let long = text;
  for (;;) {
    const ids = encode(long);
    if (ids.length >= n) return ids.slice(0, n);
    if (long.length > 1e7)
      throw new Error(`promptOfLength: "${text.slice(0, 20)}..." never reaches ${n} ids`);
    long = `${long} ${text}`;
  }
}

/** When the run started and when each new token came out (ms, `performance.now()`). */
export interface TokenTimes {
  readonly start: number;
  readonly stamps: readonly number[];
}

/**
 * Prefill tokens/s of a run that fed `promptTokens` and made one token: the prompt over the time to its first
 * token (the prefill forward and picking the token).
 */
export function prefillRate(promptTokens: number, t: TokenTimes): number {
  const first = t.stamps[0];
  if (first === undefined) throw new Error('prefillRate: no token came out');
  return (promptTokens / (first - t.start)) * 1000;
}

/**
 * Decode tokens/s: the tokens after the first over the time from the first to the last (each one forward of
 * one token with the KV cache, and the greedy pick); the prefill is not counted.
 */
export function decodeRate(t: TokenTimes): number {
  const n = t.stamps.length;
  if (n < 2) throw new Error(`decodeRate: needs at least 2 tokens, got ${n}`);
  return ((n - 1) / ((t.stamps[n - 1] as number) - (t.stamps[0] as number))) * 1000;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median: no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** The first position where two token lists differ (a missing token counts), or -1 when they are equal. */
export function firstDifference(a: readonly number[], b: readonly number[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** One kernel call as `tf.profile` records it (the wasm backend times a kernel by the wall clock around it). */
export interface KernelCall {
  readonly name: string;
  readonly kernelTimeMs: number | { error: string };
}

/**
 * The kernels that took the most time, by name: calls, total ms and share of `wallMs`, the `n` largest first,
 * then what ran outside every kernel (JavaScript between the kernels, reading the logits, picking the token).
 */
export function kernelBreakdown(
  kernels: readonly KernelCall[],
  wallMs: number,
  n = 8,
): { name: string; calls: number; ms: number; share: number }[] {
  const by = new Map<string, { calls: number; ms: number }>();
  let inside = 0;
  for (const k of kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    inside += ms;
    const e = by.get(k.name) ?? { calls: 0, ms: 0 };
    e.calls++;
    e.ms += ms;
    by.set(k.name, e);
  }
  const rows = [...by]
    .map(([name, e]) => ({ name, calls: e.calls, ms: e.ms, share: e.ms / wallMs }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n);
  const outside = Math.max(0, wallMs - inside);
  return [...rows, { name: '(outside kernels)', calls: 0, ms: outside, share: outside / wallMs }];
}
