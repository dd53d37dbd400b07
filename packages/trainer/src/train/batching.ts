import { OppuError } from '@oppu/core';
import type { Rng } from './rng.js';

/** One training pair as token ids; the loss is taken on the answer only. */
export interface TrainingExample {
  readonly prompt: readonly number[];
  readonly answer: readonly number[];
}

/** A padded batch, host-side (row-major [rows, length]). */
export interface Batch {
  readonly rows: number;
  readonly length: number;
  /** Input ids (right-padded with `padId`). */
  readonly inputs: Int32Array;
  /** The next token at each position (0 where masked). */
  readonly targets: Int32Array;
  /** 1 where the target is an answer token, else 0 (prompt and padding). */
  readonly mask: Float32Array;
  /** Number of answer tokens the loss is taken on. */
  readonly answerTokens: number;
  /** Number of real (non-padding) input tokens. */
  readonly tokens: number;
  /** Indices of the examples in this batch. */
  readonly indices: readonly number[];
  /** Each row's real (unpadded) length. */
  readonly lengths: readonly number[];
}

/**
 * Fits `prompt ++ answer` into `maxLength` tokens. The answer is what we learn, so the prompt loses tokens
 * from its start first (the end of a prompt, next to the answer, matters most); an answer longer than
 * maxLength - 1 keeps its first tokens. Returns the sequence and where the answer starts.
 */
export function fitExample(ex: TrainingExample, maxLength: number): { ids: number[]; answerStart: number } {
  const answer = ex.answer.slice(0, Math.max(1, maxLength - 1));
  const keepPrompt = Math.max(0, Math.min(ex.prompt.length, maxLength - answer.length));
  const prompt = ex.prompt.slice(ex.prompt.length - keepPrompt);
  return { ids: [...prompt, ...answer], answerStart: prompt.length };
}

export function checkExamples(examples: readonly TrainingExample[], vocabSize?: number): void {
  if (examples.length === 0) throw new OppuError('no_training_data', 'training: no examples given');
  examples.forEach((ex, i) => {
    if (!ex || !Array.isArray(ex.prompt) || !Array.isArray(ex.answer))
      throw new OppuError(
        'invalid_example',
        `training example ${i}: needs "prompt" and "answer" token arrays`,
      );
    if (ex.answer.length === 0)
      throw new OppuError('invalid_example', `training example ${i}: the answer is empty (nothing to learn)`);
    if (ex.prompt.length + ex.answer.length < 2)
      throw new OppuError(
        'invalid_example',
        `training example ${i}: needs at least 2 tokens (prompt + answer)`,
      );
    for (const id of [...ex.prompt, ...ex.answer]) {
      if (!Number.isInteger(id) || id < 0 || (vocabSize !== undefined && id >= vocabSize))
        throw new OppuError(
          'invalid_example',
          `training example ${i}: token id ${id} is outside the vocabulary${vocabSize !== undefined ? ` (0..${vocabSize - 1})` : ''}`,
        );
    }
  });
}

/** Pads fitted examples into one batch. Position t predicts ids[t+1]; the mask is 1 where ids[t+1] is an answer token. */
export function makeBatch(
  examples: readonly TrainingExample[],
  indices: readonly number[],
  maxLength: number,
  padId: number,
): Batch {
  const fitted = indices.map((i) => fitExample(examples[i] as TrainingExample, maxLength));
  const length = Math.max(...fitted.map((f) => f.ids.length - 1));
  const rows = indices.length;
  const inputs = new Int32Array(rows * length).fill(padId);
  const targets = new Int32Array(rows * length);
  const mask = new Float32Array(rows * length);
  let answerTokens = 0;
  let tokens = 0;
  fitted.forEach(({ ids, answerStart }, r) => {
    tokens += ids.length - 1;
    for (let t = 0; t < ids.length - 1; t++) {
      inputs[r * length + t] = ids[t] as number;
      targets[r * length + t] = ids[t + 1] as number;
      if (t + 1 >= answerStart) {
        mask[r * length + t] = 1;
        answerTokens += 1;
      }
    }
  });
  const lengths = fitted.map(({ ids }) => ids.length - 1);
  return { rows, length, inputs, targets, mask, answerTokens, tokens, indices, lengths };
}

/**
 * A batch cut into passes of at most `maxTokens` token positions each (rows x padded length), consecutive rows
 * together, each pass padded only to its own longest row: what bounds a training step's activation memory
 * whatever the batch size and the users sharing it. A row is never split; one longer than `maxTokens` is a
 * pass of its own. Right padding never changes what the earlier positions of a row compute (attention is
 * causal), so the passes' summed losses and gradients are the whole batch's.
 */
export function splitBatch(batch: Batch, maxTokens: number): Batch[] {
  if (batch.rows * batch.length <= maxTokens) return [batch];
  const out: Batch[] = [];
  for (let start = 0; start < batch.rows; ) {
    let end = start + 1;
    let length = batch.lengths[start] as number;
    while (end < batch.rows) {
      const next = Math.max(length, batch.lengths[end] as number);
      if ((end + 1 - start) * next > maxTokens) break;
      length = next;
      end++;
    }
    out.push(sliceRows(batch, start, end, length));
    start = end;
  }
  return out;
}

/** Rows start..end-1 of a batch, cut to `length` positions. */
function sliceRows(batch: Batch, start: number, end: number, length: number): Batch {
  const rows = end - start;
  const inputs = new Int32Array(rows * length);
  const targets = new Int32Array(rows * length);
  const mask = new Float32Array(rows * length);
  let answerTokens = 0;
  for (let r = 0; r < rows; r++) {
    const from = (start + r) * batch.length;
    inputs.set(batch.inputs.subarray(from, from + length), r * length);
    targets.set(batch.targets.subarray(from, from + length), r * length);
    mask.set(batch.mask.subarray(from, from + length), r * length);
    for (let t = 0; t < length; t++) answerTokens += mask[r * length + t] as number;
  }
  const lengths = batch.lengths.slice(start, end);
  return {
    rows,
    length,
    inputs,
    targets,
    mask,
    answerTokens,
    tokens: lengths.reduce((a, b) => a + b, 0),
    indices: batch.indices.slice(start, end),
    lengths,
  };
}

/**
 * The batches of one epoch, HF `group_by_length` style (`LengthGroupedSampler`): a seeded shuffle, cut into
 * mega-batches of 50 batches, each sorted by length (longest first) so a batch holds similar lengths and
 * little padding; the mega-batch with the longest example goes first (an early out-of-memory is better than
 * a late one).
 */
export function epochBatches(
  examples: readonly TrainingExample[],
  batchSize: number,
  rng: Rng,
  options: { groupByLength?: boolean } = {},
): number[][] {
  const order = rng.shuffle(examples.map((_, i) => i));
  const len = (i: number) =>
    (examples[i] as TrainingExample).prompt.length + (examples[i] as TrainingExample).answer.length;
  let flat = order;
  if (options.groupByLength !== false) {
    const mega = batchSize * 50;
    const groups: number[][] = [];
    for (let i = 0; i < order.length; i += mega)
      groups.push(order.slice(i, i + mega).sort((a, b) => len(b) - len(a)));
    let longest = 0;
    groups.forEach((g, gi) => {
      if (len(g[0] as number) > len((groups[longest] as number[])[0] as number)) longest = gi;
    });
    [groups[0], groups[longest]] = [groups[longest] as number[], groups[0] as number[]];
    flat = groups.flat();
  }
  const batches: number[][] = [];
  for (let i = 0; i < flat.length; i += batchSize) batches.push(flat.slice(i, i + batchSize));
  return batches;
}
