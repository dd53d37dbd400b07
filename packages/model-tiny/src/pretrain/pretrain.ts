import { createHash } from 'node:crypto';
import { createRng, type ProgressListener } from '@oppu/core';
import { AdamW, clipGradNorm, cosineSchedule, LlamaModel } from '@oppu/trainer';
import { softmaxCrossEntropy } from '@oppu/trainer/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { type LlamaConfig, toDecoderConfig } from '../model/llama-config.js';
import { randomBatch } from '../train/batches.js';
import { evaluate } from '../train/evaluate.js';
import { type HistoryPoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { initialWeights } from './init-weights.js';
import type { PretrainRecipe } from './recipe.js';

export interface PretrainLoopOptions {
  readonly recipe: PretrainRecipe;
  readonly config: LlamaConfig;
  readonly train: Uint16Array;
  readonly validation: Uint16Array;
  /** Checkpoint folder; an existing checkpoint of the same recipe is resumed. */
  readonly checkpointDir?: string;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

export interface PretrainLoopResult {
  /** The trained decoder (trainable mode: its weights are trainable variables). */
  readonly model: LlamaModel;
  /** False when stopped by the signal (a checkpoint was saved if a folder was given). */
  readonly finished: boolean;
  readonly steps: number;
  readonly trainSeconds: number;
  readonly tokensSeen: number;
  readonly history: readonly HistoryPoint[];
}

export function recipeHash(recipe: PretrainRecipe, config: LlamaConfig): string {
  return createHash('sha256').update(JSON.stringify({ recipe, config })).digest('hex').slice(0, 16);
}

/** Mean next-token cross-entropy (nats) of `model` on ids [B, T] predicting targets [B, T]. */
export function nextTokenLoss(model: LlamaModel, ids: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  const logits = tf.reshape(model.forward(ids), [-1, model.config.vocab]) as tf.Tensor2D; // [B*T, vocab]
  return softmaxCrossEntropy(logits, tf.reshape(targets, [-1]) as tf.Tensor1D);
}

/**
 * The pretraining loop: AdamW on random windows of the train stream, cosine schedule with warm-up, global-norm
 * clipping, periodic validation loss, checkpoints every `checkpointEvery` steps and when `signal` aborts. The
 * steps themselves are synchronous tfjs work; the loop yields to the event loop between steps so that progress
 * output and SIGINT handlers run. The caller owns the returned model (dispose it).
 */
export async function pretrainLoop(options: PretrainLoopOptions): Promise<PretrainLoopResult> {
  const { recipe, config } = options;
  const log = options.log ?? (() => {});
  const model = new LlamaModel(toDecoderConfig(config), initialWeights(config, recipe.seed), {
    trainable: true,
  });
  const params = model.namedVariables(); // HF names: the checkpoint's tensor names
  const names = [...params.keys()];
  const vars = [...params.values()];
  // Weight decay on matrices only (norm gains are not decayed).
  const optimizer = new AdamW(vars, {
    beta1: recipe.beta1,
    beta2: recipe.beta2,
    eps: 1e-8,
    weightDecay: vars.map((v) => (v.rank >= 2 ? recipe.weightDecay : 0)),
  });
  const byName = (arrays: readonly Float32Array[]) =>
    new Map(names.map((n, i) => [n, arrays[i] as Float32Array]));
  const inOrder = (arrays: ReadonlyMap<string, Float32Array>, what: string) =>
    names.map((n) => {
      const a = arrays.get(n);
      if (!a) throw new Error(`pretrain checkpoint ${options.checkpointDir}: no ${what} for ${n}`);
      return a;
    });
  const hash = recipeHash(recipe, config);
  const total = recipe.steps + recipe.longSteps;
  const rng = createRng(recipe.seed);
  let step = 0;
  let trainSeconds = 0;
  let history: HistoryPoint[] = [];

  const resumed = options.checkpointDir ? loadCheckpoint(options.checkpointDir) : undefined;
  if (resumed && resumed.state.recipeHash === hash) {
    inOrder(resumed.params, 'weights').forEach((a, i) => {
      const v = vars[i] as tf.Variable;
      if (a.length !== v.size)
        throw new Error(
          `pretrain checkpoint ${options.checkpointDir}: ${names[i]} has ${a.length} values, expected ${v.size}`,
        );
      tf.tidy(() => v.assign(tf.tensor(a, v.shape)));
    });
    optimizer.importState({
      step: resumed.state.step,
      m: inOrder(resumed.m, 'moment m'),
      v: inOrder(resumed.v, 'moment v'),
    });
    step = resumed.state.step;
    rng.state = resumed.state.rngState;
    trainSeconds = resumed.state.trainSeconds;
    history = [...resumed.state.history];
    log(`pretrain: resumed from ${options.checkpointDir} at step ${step}/${total}`);
  } else if (resumed) {
    log(`pretrain: ignoring checkpoint ${options.checkpointDir} (it was made with another recipe)`);
  }

  const shapes = new Map([...params].map(([name, v]) => [name, v.shape]));
  const save = () => {
    if (!options.checkpointDir) return;
    const adam = optimizer.exportState();
    saveCheckpoint(
      options.checkpointDir,
      {
        state: { recipeHash: hash, step, rngState: rng.state, trainSeconds, history },
        params: byName(vars.map((v) => v.dataSync() as Float32Array)),
        m: byName(adam.m),
        v: byName(adam.v),
      },
      shapes,
    );
  };

  let smoothed: number | undefined;
  let tokensSeen = 0;
  for (let s = 0; s < step; s++) {
    tokensSeen += s < recipe.steps ? recipe.batch * recipe.seqLen : recipe.longBatch * recipe.longSeqLen;
  }

  while (step < total) {
    // Yield to the event loop once a step: timers (the progress bar) and signal handlers (Ctrl-C) run here.
    await new Promise((resolve) => setImmediate(resolve));
    if (options.signal?.aborted) {
      save();
      log(
        `pretrain: stopped at step ${step}/${total}${options.checkpointDir ? `; checkpoint in ${options.checkpointDir}` : ''}`,
      );
      return { model, finished: false, steps: step, trainSeconds, tokensSeen, history };
    }
    const long = step >= recipe.steps;
    const B = long ? recipe.longBatch : recipe.batch;
    const T = long ? recipe.longSeqLen : recipe.seqLen;
    const lr = cosineSchedule(step, total, recipe.warmupSteps, recipe.peakLr, recipe.minLrRatio);
    const t0 = performance.now();
    const { inputs, targets } = randomBatch(options.train, B, T, rng);
    const { value, grads } = tf.variableGrads(() => nextTokenLoss(model, inputs, targets), vars);
    const loss = value.dataSync()[0]!;
    const clipped = clipGradNorm(
      vars.map((v) => grads[v.name] as tf.Tensor),
      recipe.clipNorm,
    );
    optimizer.apply(clipped.grads, lr);
    tf.dispose([inputs, targets, value, grads as Record<string, tf.Tensor>, clipped.grads]);
    if (!Number.isFinite(loss)) {
      throw new Error(`pretrain: loss became ${loss} at step ${step}; lower peakLr in the recipe`);
    }
    const seconds = (performance.now() - t0) / 1000;
    trainSeconds += seconds;
    step += 1;
    tokensSeen += B * T;
    smoothed = smoothed === undefined ? loss : 0.95 * smoothed + 0.05 * loss;

    let valLoss: number | undefined;
    if (step % recipe.evalEvery === 0 || step === total) {
      valLoss = evaluate(model, options.validation, {
        seqLen: recipe.seqLen,
        batch: recipe.batch,
        limit: recipe.evalTokens,
      }).crossEntropy;
      log(
        `pretrain: step ${step}/${total} train ${smoothed.toFixed(3)} val ${valLoss.toFixed(3)} (ppl ${Math.exp(valLoss).toFixed(1)})`,
      );
    }
    history.push({ step, trainLoss: loss, lr, seconds, ...(valLoss !== undefined ? { valLoss } : {}) });
    const tokensPerSecond = (B * T) / seconds;
    const remaining = (total - step) * (trainSeconds / step);
    options.onProgress?.({
      phase: long ? `pretrain (T=${T})` : 'pretrain',
      done: step,
      total,
      loss: smoothed,
      tokensPerSecond,
      etaSeconds: remaining,
      ...(valLoss !== undefined ? { message: `val ${valLoss.toFixed(3)}` } : {}),
    });
    if (step % recipe.checkpointEvery === 0 && step < total) save();
  }
  save();
  optimizer.dispose();
  return { model, finished: true, steps: step, trainSeconds, tokensSeen, history };
}
