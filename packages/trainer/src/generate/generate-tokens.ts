import { OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import type { LinearAdapter } from '../model/hooks.js';
import { KVCache, type LlamaModel } from '../model/llama.js';
import {
  RepetitionGuard,
  type RepetitionParams,
  repetitionEnabled,
  type SamplingParams,
  sampleToken,
  seededRandom,
} from './sampling.js';

export type FinishReason = 'stop' | 'length' | 'abort';

export interface GenerateTokensOptions extends SamplingParams, RepetitionParams {
  readonly maxNewTokens: number;
  /** Every row draws from its own stream seeded with this seed, so a request samples the same tokens alone or in a batch. */
  readonly seed?: number;
  readonly signal?: AbortSignal;
  readonly adapter?: LinearAdapter;
  /** A row ends (reason 'stop') when it samples one of these; the token is not part of its output. */
  readonly stopIds?: readonly number[];
  /** Fills the left padding (masked out; any id in the vocabulary). Default 0. */
  readonly padId?: number;
  /** Called after each new token; returning true ends that row with reason 'stop' (stop sequences). */
  readonly shouldStop?: (row: number, generated: readonly number[]) => boolean;
}

export interface RowOutput {
  /** Generated ids, without the stop id. */
  readonly ids: number[];
  readonly finishReason: FinishReason;
}

/** One decoding step: the token each still-running row just produced. */
export interface StepEvent {
  readonly tokens: readonly { row: number; token: number }[];
}

/**
 * Batched autoregressive decoding with a KV cache. Prompts are left-padded to the longest one; pads are
 * masked out of attention and take no position, so each row decodes exactly as it would alone. Yields each
 * step's new tokens and returns every row's output. `repetitionPenalty` and `noRepeatNgramSize` rewrite each
 * row's logits on the host before it picks a token (`RepetitionGuard`); off, they cost nothing. All tensors
 * are freed, also on abort or error; a consumer that stops iterating early must call the generator's
 * `return()` (a `for await` break does) so that the KV cache is freed.
 */
export async function* generateTokens(
  model: LlamaModel,
  prompts: readonly (readonly number[])[],
  options: GenerateTokensOptions,
): AsyncGenerator<StepEvent, RowOutput[]> {
  const B = prompts.length;
  if (B === 0) return [];
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new OppuError('empty_prompt', `generate: prompt ${i} has no tokens`);
  });
  const { vocab, maxSeqLen } = model.config;
  const padId = options.padId ?? 0;
  const L = Math.max(...prompts.map((p) => p.length));
  const stopIds = new Set(options.stopIds ?? []);
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = prompts.map(() => seededRandom(seed));
  const generated: number[][] = prompts.map(() => []);
  // Per row, over its prompt and output (never its padding); none when the options are off.
  const guards = repetitionEnabled(options) ? prompts.map((p) => new RepetitionGuard(options, p)) : undefined;
  const finish: (FinishReason | undefined)[] = prompts.map(() => undefined);
  // Host copy of the attention mask, one row per request, over every token position so far.
  const mask: number[][] = prompts.map((p) => [
    ...new Array<number>(L - p.length).fill(0),
    ...p.map(() => 1),
  ]);
  const cache = new KVCache();
  let input = prompts.map((p) => [...new Array<number>(L - p.length).fill(padId), ...p]);

  try {
    if (options.maxNewTokens <= 0) return prompts.map(() => ({ ids: [], finishReason: 'length' as const }));
    for (;;) {
      if (options.signal?.aborted) {
        for (let r = 0; r < B; r++) finish[r] ??= 'abort';
        break;
      }
      const t = (input[0] as number[]).length;
      const ids = tf.tensor2d(input.flat(), [B, t], 'int32');
      let last: Float32Array;
      try {
        // Only the last position's logits: [B, 1, V]
        const logits = model.forward(ids, {
          adapter: options.adapter,
          cache,
          attentionMask: mask,
          logitsToKeep: 1,
        });
        try {
          last = (await logits.data()) as Float32Array;
        } finally {
          logits.dispose();
        }
      } finally {
        ids.dispose();
      }
      const events: { row: number; token: number }[] = [];
      const next: number[] = [];
      for (let r = 0; r < B; r++) {
        if (finish[r]) {
          next.push(padId);
          continue;
        }
        // `last` is this step's alone (its tensor is freed): the guard rewrites the row in place.
        const row = last.subarray(r * vocab, (r + 1) * vocab);
        guards?.[r]?.apply(row);
        const token = sampleToken(row, options, random[r] as () => number);
        guards?.[r]?.push(token);
        next.push(token);
        if (stopIds.has(token)) {
          finish[r] = 'stop';
          continue;
        }
        const out = generated[r] as number[];
        out.push(token);
        events.push({ row: r, token });
        if (options.shouldStop?.(r, out)) finish[r] = 'stop';
        else if (out.length >= options.maxNewTokens || cache.length >= maxSeqLen) finish[r] = 'length';
      }
      if (events.length > 0) yield { tokens: events };
      if (finish.every((f) => f !== undefined)) break;
      // Feed the new tokens; finished rows feed a masked pad.
      input = next.map((tok) => [tok]);
      for (let r = 0; r < B; r++) (mask[r] as number[]).push(finish[r] ? 0 : 1);
      // Let timers and abort signals run between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return generated.map((ids, r) => ({ ids, finishReason: finish[r] ?? 'length' }));
  } finally {
    cache.dispose();
  }
}

/** Runs `generateTokens` to the end and returns the rows' outputs. */
export async function generateAll(
  model: LlamaModel,
  prompts: readonly (readonly number[])[],
  options: GenerateTokensOptions,
): Promise<RowOutput[]> {
  const it = generateTokens(model, prompts, options);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}
