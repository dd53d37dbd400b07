import { OppuError, type TrainingConfig } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { softmaxCrossEntropyBlocks } from '../kernels/cross-entropy.js';
import type { MultiLora } from '../peft/lora/multi.js';
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
import { ensureGradients } from './gradients.js';
import { createRng, deriveSeed, type Rng } from './rng.js';
import { linearWarmupLr } from './schedule.js';
import {
  abortError,
  planTraining,
  type TrainOptions,
  type TrainResult,
  trainBatchTokens,
  withEos,
} from './train-adapter.js';
import { resolveTrainingConfig } from './train-config.js';

/** One user's stream of accumulation windows, epoch after epoch, in the order solo training would use. */
class UserStream {
  private readonly rng: Rng;
  private batches: number[][] = [];
  private at = 0;
  epochs = 0;

  constructor(
    readonly examples: readonly TrainingExample[],
    private readonly cfg: TrainingConfig,
    private readonly groupByLength: boolean | undefined,
  ) {
    this.rng = createRng(cfg.seed);
  }

  nextWindow(): number[][] {
    if (this.at >= this.batches.length) {
      this.batches = epochBatches(this.examples, this.cfg.batchSize, this.rng, {
        groupByLength: this.groupByLength,
      });
      this.at = 0;
      this.epochs += 1;
    }
    const w = this.batches.slice(this.at, this.at + this.cfg.gradientAccumulationSteps);
    this.at += this.cfg.gradientAccumulationSteps;
    return w;
  }
}

/**
 * Trains several users' LoRAs at once, in shared batches, with the multi-adapter kernel: row i of a batch goes
 * through its own user's adapter (a `MultiLora` made by `MultiLora.create`, slot u = user u).
 *
 * Each user gets exactly what `trainAdapter` would do alone with the same config: their own data order
 * (seeded by `config.seed`), step count, warm-up schedule, loss normalisation (their own answer tokens),
 * gradient-norm clipping (their own slice's norm) and AdamW update (their own slice, their own learning rate;
 * a user whose steps are done gets lr 0 and stays unchanged), and their own LoRA dropout masks: each user's
 * rows draw from that user's own stream (seeded from `config.seed`), the masks solo training draws for the
 * user's own batch, in the same order (`MultiLora.asLinearAdapter`). The loss is taken per user, so no
 * gradient mixes users. Nothing of one user's data reaches another user's adapter: on the cpu backend and
 * on wasm with the native addon, a user's adapter and losses are bitwise the same whoever shares the batches
 * (tested; on wasm without the addon XNNPACK rounds attention differently for another padded length, so
 * there they agree to float rounding; README: one exception for rank <= 4 past 256 tokens). Against
 * `trainAdapter` alone the result agrees to float rounding (tested to 1e-4), not bitwise: the stacked
 * adapters go through other kernels than a single LoRA.
 */
export async function trainAdapters(
  model: TrainableCausalLM,
  multi: MultiLora,
  givenPerUser: readonly (readonly TrainingExample[])[],
  config: Partial<TrainingConfig> = {},
  options: TrainOptions = {},
): Promise<TrainResult[]> {
  const cfg = resolveTrainingConfig(config);
  const perUser = givenPerUser.map((ex) => withEos(ex, options.eosId));
  await ensureGradients();
  if (perUser.length !== multi.count)
    throw new OppuError(
      'invalid_argument',
      `trainAdapters: ${perUser.length} users' examples for ${multi.count} adapters (one list per adapter slot)`,
    );
  perUser.forEach((ex, u) => {
    try {
      checkExamples(ex, model.dims.vocabSize);
    } catch (err) {
      throw new OppuError(
        (err as OppuError).code ?? 'invalid_example',
        `user ${u}: ${(err as Error).message}`,
      );
    }
  });
  const { signal, onProgress } = options;
  if (signal?.aborted) throw abortError('training', signal);
  const padId = options.padId ?? 0;
  const maxTokens = trainBatchTokens(model, cfg, options);
  const plans = perUser.map((ex) => planTraining(ex.length, cfg));
  const totalSteps = Math.max(...plans.map((p) => p.totalSteps));
  const streams = perUser.map((ex) => new UserStream(ex, cfg, options.groupByLength));
  const vars = multi.trainableVariables();
  const optimizer = new AdamW(vars, { weightDecay: cfg.weightDecay });
  multi.setTraining(true, deriveSeed(cfg.seed, 'dropout'));
  const n = multi.count;
  const losses: number[][] = perUser.map(() => []);
  const tokens = new Array<number>(n).fill(0);
  const answerTokens = new Array<number>(n).fill(0);
  const started = performance.now();
  let accum: tf.Tensor[] | undefined;

  try {
    for (let step = 0; step < totalSteps; step++) {
      const active = plans.map((p) => step < p.totalSteps);
      const windows = streams.map((s, u) => (active[u] ? s.nextWindow() : []));
      const windowTokens = windows.map((w, u) =>
        w.reduce(
          (sum, idx) =>
            sum + makeBatch(perUser[u] as TrainingExample[], idx, cfg.maxLength, padId).answerTokens,
          0,
        ),
      );
      const micro = Math.max(...windows.map((w) => w.length));
      const stepLoss = new Array<number>(n).fill(0);
      for (let j = 0; j < micro; j++) {
        if (signal?.aborted) throw abortError(`training (step ${step + 1} of ${totalSteps})`, signal);
        const parts: { user: number; batch: Batch }[] = [];
        windows.forEach((w, u) => {
          const idx = w[j];
          if (idx)
            parts.push({
              user: u,
              batch: makeBatch(perUser[u] as TrainingExample[], idx, cfg.maxLength, padId),
            });
        });
        // The users' batches run in passes within the token budget; their gradients add up to the step's.
        const rowLoss = new Map<number, number>();
        for (const pass of tokenPasses(parts, maxTokens)) {
          if (signal?.aborted) throw abortError(`training (step ${step + 1} of ${totalSteps})`, signal);
          const passLoss = microStep(model, multi, vars, pass, windowTokens, padId, (g) => {
            if (!accum) accum = g;
            else {
              const prev = accum;
              accum = prev.map((a, i) => tf.add(a, g[i] as tf.Tensor));
              tf.dispose([...prev, ...g]);
            }
          });
          for (const [user, loss] of passLoss) rowLoss.set(user, (rowLoss.get(user) ?? 0) + loss);
        }
        for (const { user, batch } of parts) {
          stepLoss[user] = (stepLoss[user] as number) + (rowLoss.get(user) ?? 0);
          tokens[user] = (tokens[user] as number) + batch.tokens;
          answerTokens[user] = (answerTokens[user] as number) + batch.answerTokens;
        }
      }
      const grads = accum as tf.Tensor[];
      const clipped = cfg.maxGradNorm > 0 ? clipPerSlice(grads, n, cfg.maxGradNorm) : grads;
      const lrs = plans.map((p, u) =>
        active[u] ? linearWarmupLr(cfg.learningRate, step, p.warmupSteps, p.totalSteps) : 0,
      );
      optimizer.apply(clipped, lrs);
      if (clipped !== grads) tf.dispose(clipped);
      tf.dispose(grads);
      accum = undefined;
      active.forEach((a, u) => {
        if (a) losses[u]?.push(stepLoss[u] as number);
      });
      const seconds = (performance.now() - started) / 1000;
      const allTokens = tokens.reduce((a, b) => a + b, 0);
      onProgress?.({
        phase: 'train',
        done: step + 1,
        total: totalSteps,
        loss: stepLoss.reduce((a, b) => a + b, 0) / Math.max(1, active.filter(Boolean).length),
        tokensPerSecond: allTokens / Math.max(seconds, 1e-9),
        etaSeconds: (seconds / (step + 1)) * (totalSteps - step - 1),
      });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    if (accum) tf.dispose(accum);
    optimizer.dispose();
    multi.setTraining(false);
  }
  const seconds = (performance.now() - started) / 1000;
  return plans.map((p, u) => ({
    steps: p.totalSteps,
    epochs: streams[u]?.epochs ?? 0,
    losses: losses[u] as number[],
    finalLoss: losses[u]?.[losses[u].length - 1] ?? Number.NaN,
    answerTokens: answerTokens[u] as number,
    tokens: tokens[u] as number,
    seconds,
    tokensPerSecond: (tokens[u] as number) / Math.max(seconds, 1e-9),
  }));
}

/**
 * One micro-step's user batches packed into passes of at most `maxTokens` positions (rows x padded length):
 * each batch cut by `splitBatch`, the pieces longest first (so a pass pads little), a new pass whenever the
 * next piece would not fit. Memory then depends on the budget, not on how many users train together.
 */
function tokenPasses(
  parts: readonly { user: number; batch: Batch }[],
  maxTokens: number,
): { user: number; batch: Batch }[][] {
  const pieces = parts
    .flatMap(({ user, batch }) => splitBatch(batch, maxTokens).map((piece) => ({ user, batch: piece })))
    .sort((a, b) => b.batch.length - a.batch.length || a.user - b.user);
  const passes: { user: number; batch: Batch }[][] = [];
  let current: { user: number; batch: Batch }[] = [];
  let rows = 0;
  let length = 0;
  for (const piece of pieces) {
    const longest = Math.max(length, piece.batch.length);
    if (current.length > 0 && (rows + piece.batch.rows) * longest > maxTokens) {
      passes.push(current);
      current = [];
      rows = 0;
    }
    current.push(piece);
    rows += piece.batch.rows;
    length = current.length === 1 ? piece.batch.length : Math.max(length, piece.batch.length);
  }
  if (current.length > 0) passes.push(current);
  return passes;
}

/** torch clip_grad_norm_ applied to each user's slice (axis 0 of every stacked variable) on its own. */
function clipPerSlice(grads: readonly tf.Tensor[], n: number, maxNorm: number): tf.Tensor[] {
  return tf.tidy(() => {
    const sq = tf.addN(grads.map((g) => tf.sum(tf.reshape(tf.square(g), [n, -1]), 1))); // [n]
    const norm = tf.sqrt(sq);
    const coef = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1); // [n]
    return grads.map((g) => tf.mul(g, tf.reshape(coef, [n, ...g.shape.slice(1).map(() => 1)])));
  });
}

/**
 * One shared micro-batch: every user's batch stacked into one (right-padded to the longest), one forward pass,
 * then one loss term per user taken op for op as `trainAdapter` takes it on the user's own batch (mean over
 * the batch's answer tokens · its answer tokens / the window's). The summed loss is Σ_u (share of mean_u),
 * and the gradient reaching a user's rows is made of that user's rows alone (a mean over the whole batch
 * would divide by everyone's tokens and move the user's gradient by rounding). Returns each user's share of
 * their mean loss.
 */
function microStep(
  model: TrainableCausalLM,
  multi: MultiLora,
  vars: tf.Variable[],
  parts: readonly { user: number; batch: Batch }[],
  windowTokens: readonly number[],
  padId: number,
  sink: (grads: tf.Tensor[]) => void,
): Map<number, number> {
  // A user's rows go through the shared batch as one block, so that their dropout masks are drawn as alone:
  // a second batch of a user here (e.g. two pieces of a batch cut to a token budget) gets a pass of its own.
  const seen = new Set<number>();
  const first = parts.filter((p) => !seen.has(p.user) && seen.add(p.user));
  if (first.length < parts.length) {
    const losses = microStep(model, multi, vars, first, windowTokens, padId, sink);
    const rest = parts.filter((p) => !first.includes(p));
    for (const [user, loss] of microStep(model, multi, vars, rest, windowTokens, padId, sink))
      losses.set(user, (losses.get(user) ?? 0) + loss);
    return losses;
  }
  // At least 5 positions: the native GEMM multiplies products of at most 4 rows (OPPU_GEMM_SMALL_ROWS) with
  // another kernel, which rounds differently, so a short user batch would round one way when the batch is
  // short and another way beside a longer user.
  const length = Math.max(5, ...parts.map((p) => p.batch.length));
  const rows = parts.reduce((s, p) => s + p.batch.rows, 0);
  const inputs = new Int32Array(rows * length).fill(padId);
  const targets = new Int32Array(rows * length);
  const mask = new Float32Array(rows * length);
  const rowUser: number[] = [];
  const rowLength: number[] = []; // each row's length in its user's own batch (dropout masks are drawn at it)
  let r0 = 0;
  for (const { user, batch } of parts) {
    for (let r = 0; r < batch.rows; r++) {
      rowUser.push(user);
      rowLength.push(batch.length);
      for (let t = 0; t < length; t++) {
        const src = r * batch.length + t;
        const dst = (r0 + r) * length + t;
        if (t < batch.length) {
          inputs[dst] = batch.inputs[src] as number;
          targets[dst] = batch.targets[src] as number;
          mask[dst] = batch.mask[src] as number;
        } else inputs[dst] = padId; // right padding, masked out
      }
    }
    r0 += batch.rows;
  }
  const hooks = multi.asLinearAdapter(rowUser, { lengths: rowLength });
  let terms: tf.Tensor | undefined;
  try {
    const { value, grads } = tf.tidy(() => {
      const ids = tf.tensor2d(inputs, [rows, length], 'int32');
      const tg = tf.tensor1d(targets, 'int32');
      const mk = tf.tensor1d(mask);
      const answerTokens = tf.tensor1d(parts.map((p) => p.batch.answerTokens));
      const window = tf.tensor1d(parts.map((p) => windowTokens[p.user] as number));
      return tf.variableGrads(() => {
        const logits = model.forward(ids, hooks); // [rows, length, vocab]
        const vocab = logits.shape[2];
        // Each user's mean over their own rows, then · their answer tokens / their window's, as trainAdapter.
        const means = softmaxCrossEntropyBlocks(
          tf.reshape(logits, [-1, vocab]) as tf.Tensor2D,
          tg,
          mk,
          parts.map((p) => p.batch.rows * length),
        );
        terms = tf.keep(tf.div(tf.mul(means, answerTokens), window)); // [parts]
        return tf.sum(terms) as tf.Scalar;
      }, vars);
    });
    value.dispose();
    sink(vars.map((v) => grads[v.name] ?? tf.zerosLike(v)));
    const values = (terms as tf.Tensor).dataSync();
    return new Map(parts.map((p, k) => [p.user, values[k] as number]));
  } finally {
    terms?.dispose();
    hooks.dispose();
  }
}
