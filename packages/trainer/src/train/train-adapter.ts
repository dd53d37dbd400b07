import { type LongWorkOptions, OppuError, type TrainingConfig } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { defaultBatchTokens } from '../model/memory-budget.js';
import type { PeftMethod } from '../peft/peft-method.js';
import { AdamW } from './adamw.js';
import {
  type Batch,
  checkExamples,
  epochBatches,
  makeBatch,
  splitBatch,
  type TrainingExample,
} from './batching.js';
import type { TrainableCausalLM } from './causal-lm.js';
import { clipGradNorm } from './clip.js';
import { ensureGradients } from './gradients.js';
import { maskedCrossEntropySum } from './masked-loss.js';
import { createRng, deriveSeed } from './rng.js';
import { linearWarmupLr, warmupSteps } from './schedule.js';
import { resolveTrainingConfig } from './train-config.js';

export interface TrainOptions extends LongWorkOptions {
  /** Token id used to pad batches (never part of the loss). Default 0. */
  readonly padId?: number;
  /** If set, this token (the tokenizer's EOS) is appended to every answer, as OPPU's training data does. */
  readonly eosId?: number;
  /** HF `group_by_length` batching (default true). */
  readonly groupByLength?: boolean;
  /**
   * Token positions (rows x padded length) one forward/backward pass may hold: a batch over it runs as several
   * passes whose gradients add up to the same step, so memory stays bounded whatever the batch size, the
   * sequence length and the number of users trained together. Default: `defaultBatchTokens(dims, maxLength,
   * 'training')`, what 1 GiB of activations holds (model/memory-budget.ts).
   */
  readonly maxBatchTokens?: number;
}

/** The token budget of a training pass: the option, or what the default activation memory holds. */
export function trainBatchTokens(
  model: TrainableCausalLM,
  config: TrainingConfig,
  options: TrainOptions,
): number {
  const given = options.maxBatchTokens;
  if (given !== undefined && !(Number.isSafeInteger(given) && given >= 1))
    throw new OppuError(
      'invalid_argument',
      `training: maxBatchTokens must be a positive integer, got ${given}`,
    );
  return given ?? defaultBatchTokens(model.dims, config.maxLength, 'training');
}

export interface TrainResult {
  /** Optimizer steps taken. */
  readonly steps: number;
  readonly epochs: number;
  /** Mean answer-token loss of each optimizer step. */
  readonly losses: readonly number[];
  readonly finalLoss: number;
  /** Answer tokens the loss was taken on, summed over steps. */
  readonly answerTokens: number;
  /** All (non-padding) tokens processed. */
  readonly tokens: number;
  readonly seconds: number;
  readonly tokensPerSecond: number;
}

/** Thrown when `signal` aborts training (code `aborted`, name `AbortError`, as `fetch` does). */
export function abortError(where: string, signal?: AbortSignal): OppuError {
  const err = new OppuError('aborted', `${where}: cancelled`, { cause: signal?.reason });
  err.name = 'AbortError';
  return err;
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The examples with `eosId` appended to each answer (unchanged when undefined). */
export function withEos(
  examples: readonly TrainingExample[],
  eosId: number | undefined,
): readonly TrainingExample[] {
  if (eosId === undefined) return examples;
  return examples.map((ex) => ({ prompt: ex.prompt, answer: [...(ex.answer ?? []), eosId] }));
}

/** The optimizer-step plan of a run: batches per epoch, steps, warm-up. */
export function planTraining(examples: number, config: TrainingConfig) {
  const batchesPerEpoch = Math.ceil(examples / config.batchSize);
  const stepsPerEpoch = Math.ceil(batchesPerEpoch / config.gradientAccumulationSteps);
  const totalSteps = config.maxSteps ?? Math.ceil(stepsPerEpoch * config.epochs);
  return {
    batchesPerEpoch,
    stepsPerEpoch,
    totalSteps,
    warmupSteps: warmupSteps(totalSteps, config.warmupRatio),
  };
}

/**
 * Trains a PEFT method's variables on (prompt, answer) pairs, the base model frozen (only the method's
 * variables are differentiated and updated):
 *
 * - loss: next-token cross-entropy on answer tokens only, averaged over all answer tokens of an optimizer
 *   step (across its accumulated micro-batches; HF Trainer's `num_items_in_batch` normalisation);
 * - batches: seeded shuffle per epoch, grouped by length, right-padded;
 * - AdamW (torch semantics), linear schedule with warm-up (HF), global grad-norm clipping (torch);
 * - `epochs`, or `maxSteps` (which wins; epochs repeat as needed); the last, partial accumulation window of
 *   an epoch also takes a step;
 * - dropout on, seeded from `config.seed`, only during training.
 *
 * Same seed, same examples, same starting weights -> same result. Progress goes to `onProgress` after each
 * step ({ phase: 'train', done, total, loss, tokensPerSecond, etaSeconds }). If `signal` aborts, training stops
 * between micro-batches, frees its tensors, and throws OppuError `aborted` (name `AbortError`); the method's
 * variables then hold the values after the last completed step.
 */
export async function trainAdapter(
  model: TrainableCausalLM,
  method: PeftMethod,
  givenExamples: readonly TrainingExample[],
  config: Partial<TrainingConfig> = {},
  options: TrainOptions = {},
): Promise<TrainResult> {
  const cfg = resolveTrainingConfig(config);
  await ensureGradients();
  const examples = withEos(givenExamples, options.eosId);
  checkExamples(examples, model.dims.vocabSize);
  const { signal, onProgress } = options;
  if (signal?.aborted) throw abortError('training', signal);
  const padId = options.padId ?? 0;
  const maxTokens = trainBatchTokens(model, cfg, options);
  const plan = planTraining(examples.length, cfg);
  const vars = method.trainableVariables();
  if (vars.length === 0)
    throw new OppuError('invalid_argument', 'training: the method has no trainable variables');
  const adapter = method.asLinearAdapter();
  const rng = createRng(cfg.seed);
  const optimizer = new AdamW(vars, { weightDecay: cfg.weightDecay });
  method.setTraining(true, deriveSeed(cfg.seed, 'dropout'));

  const losses: number[] = [];
  let tokens = 0;
  let answerTokens = 0;
  let step = 0;
  let epoch = 0;
  const started = performance.now();
  let accum: tf.Tensor[] | undefined;
  const freeAccum = () => {
    if (accum) tf.dispose(accum);
    accum = undefined;
  };

  try {
    while (step < plan.totalSteps) {
      const batches = epochBatches(examples, cfg.batchSize, rng, { groupByLength: options.groupByLength });
      epoch += 1;
      for (let w = 0; w < batches.length && step < plan.totalSteps; w += cfg.gradientAccumulationSteps) {
        const window = batches
          .slice(w, w + cfg.gradientAccumulationSteps)
          .map((idx) => makeBatch(examples, idx, cfg.maxLength, padId));
        const windowTokens = window.reduce((n, b) => n + b.answerTokens, 0);
        let lossSum = 0;
        for (const batch of window) {
          // Passes within the token budget; their gradients add up to the batch's.
          for (const pass of splitBatch(batch, maxTokens)) {
            if (signal?.aborted)
              throw abortError(`training (step ${step + 1} of ${plan.totalSteps})`, signal);
            lossSum += accumulate(model, adapter, vars, pass, windowTokens, (g) => {
              if (!accum) accum = g;
              else {
                const prev = accum;
                accum = prev.map((a, i) => tf.add(a, g[i] as tf.Tensor));
                tf.dispose([...prev, ...g]);
              }
            });
          }
          tokens += batch.tokens;
          answerTokens += batch.answerTokens;
        }
        const lr = linearWarmupLr(cfg.learningRate, step, plan.warmupSteps, plan.totalSteps);
        const grads = accum as tf.Tensor[];
        if (cfg.maxGradNorm > 0) {
          const clipped = clipGradNorm(grads, cfg.maxGradNorm);
          optimizer.apply(clipped.grads, lr);
          tf.dispose(clipped.grads);
        } else optimizer.apply(grads, lr);
        freeAccum();
        step += 1;
        const loss = lossSum;
        losses.push(loss);
        const seconds = (performance.now() - started) / 1000;
        onProgress?.({
          phase: 'train',
          done: step,
          total: plan.totalSteps,
          loss,
          tokensPerSecond: tokens / Math.max(seconds, 1e-9),
          etaSeconds: (seconds / step) * (plan.totalSteps - step),
        });
        await nextTick(); // let an abort or a progress bar run between steps
      }
    }
  } finally {
    freeAccum();
    optimizer.dispose();
    method.setTraining(false);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    steps: step,
    epochs: epoch,
    losses,
    finalLoss: losses[losses.length - 1] ?? Number.NaN,
    answerTokens,
    tokens,
    seconds,
    tokensPerSecond: tokens / Math.max(seconds, 1e-9),
  };
}

/**
 * One micro-batch: gradients of (summed answer-token loss / windowTokens) with respect to `vars`, handed to
 * `sink`; returns this batch's share of the window's mean loss.
 */
function accumulate(
  model: TrainableCausalLM,
  adapter: ReturnType<PeftMethod['asLinearAdapter']>,
  vars: tf.Variable[],
  batch: Batch,
  windowTokens: number,
  sink: (grads: tf.Tensor[]) => void,
): number {
  const { value, grads } = tf.tidy(() => {
    const ids = tf.tensor2d(batch.inputs, [batch.rows, batch.length], 'int32');
    const targets = tf.tensor2d(batch.targets, [batch.rows, batch.length], 'int32');
    const mask = tf.tensor2d(batch.mask, [batch.rows, batch.length]);
    return tf.variableGrads(() => {
      const logits = model.forward(ids, adapter); // [rows, prefix + length, vocab]
      const prefix = logits.shape[1] - batch.length;
      const real = prefix > 0 ? (tf.slice(logits, [0, prefix, 0], [-1, -1, -1]) as tf.Tensor3D) : logits;
      return tf.div(
        maskedCrossEntropySum(real, targets, mask, batch.answerTokens),
        windowTokens,
      ) as tf.Scalar;
    }, vars);
  });
  const loss = (value.dataSync() as Float32Array)[0] as number;
  value.dispose();
  // A variable the loss does not reach (e.g. a module never called) gets a zero gradient.
  sink(vars.map((v) => grads[v.name] ?? tf.zerosLike(v)));
  return loss;
}
