import type { PeftEngine, TrainingExample } from '../contracts/engine.js';
import { OppuError } from '../contracts/errors.js';
import type { HistoryItem } from '../contracts/history.js';
import type { LoraConfig, TrainingConfig } from '../contracts/peft.js';
import type { LongWorkOptions } from '../contracts/progress.js';
import type { AdapterWeights } from '../contracts/tensors.js';

/**
 * OPPU stage 1 (task adaptation): one LoRA trained on the task data of users *other than* the ones served, merged
 * into the base before any user's adapter is trained or used. This file is the one implementation: the pipeline
 * (`runLamp`), `@oppu/node`'s cached `adaptToTask`, the shipped task adapters and the benches all call it.
 */

/**
 * The stage-1 LoRA: every projection with r 16. It is merged into the base and never stored per user, and a
 * small base learns a task's answer format much faster this way than with OPPU's q/v r 8 (per-user adapters stay
 * OPPU's).
 */
export const TASK_LORA: LoraConfig = Object.freeze({
  method: 'lora',
  r: 16,
  alpha: 32,
  dropout: 0.05,
  targetModules: Object.freeze(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']),
});

/**
 * Stage-1 training. Chosen on the embedded 4M base with label scoring on development seeds (docs/results.md):
 * lr 1e-2 collapses the task-adapted base to one label on LaMP-2M; 2e-3 for a fixed step budget does not.
 * OPPU trains stage 1 for epochs over the whole task-train split of a 7B model; the step budget keeps the
 * shipped adapters' cost bounded.
 */
export const TASK_TRAINING: Partial<TrainingConfig> = Object.freeze({
  learningRate: 2e-3,
  maxSteps: 800,
  batchSize: 4,
  seed: 1,
});

/** What decides a stage-1 adapter: the LoRA and the training settings (the cache key covers both). */
export interface TaskAdaptationConfig {
  readonly peft: LoraConfig;
  readonly training: Partial<TrainingConfig>;
}

/** The stage-1 configuration: the defaults with `overrides` on top (training settings merged field by field). */
export function taskAdaptationConfig(overrides: Partial<TaskAdaptationConfig> = {}): TaskAdaptationConfig {
  return {
    peft: overrides.peft ?? TASK_LORA,
    training: { ...TASK_TRAINING, ...(overrides.training ?? {}) },
  };
}

export interface TrainTaskAdapterOptions extends LongWorkOptions, Partial<TaskAdaptationConfig> {}

/** Trains the stage-1 LoRA on (prompt, answer) pairs of other users. Returns its weights and the training result. */
export async function trainTaskAdapter(
  engine: PeftEngine,
  examples: readonly TrainingExample[],
  options: TrainTaskAdapterOptions = {},
): Promise<{ weights: AdapterWeights; finalLoss: number; steps: number; config: TaskAdaptationConfig }> {
  if (examples.length === 0) throw new OppuError('no_examples', 'task adaptation: no examples given');
  const config = taskAdaptationConfig(options);
  const result = await engine.trainAdapter(examples, {
    peft: config.peft,
    training: config.training,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  if (result.cancelled) throw new OppuError('aborted', 'task adaptation was cancelled');
  if (!Number.isFinite(result.finalLoss)) {
    throw new OppuError(
      'non_finite_loss',
      `task adaptation: the training loss became ${result.finalLoss}; lower the learning rate (now ${config.training.learningRate})`,
    );
  }
  return { weights: result.weights, finalLoss: result.finalLoss, steps: result.steps, config };
}

/** One user of a stage-1 set or of a target set, as far as overlap checks need it. */
export interface OverlapUser {
  readonly userId: string;
  readonly items: readonly HistoryItem[];
  readonly questionIds: readonly string[];
}

/** An item's id and text together: the same item (two users may well write the same short text). */
function itemKey(item: HistoryItem): string {
  const fields = Object.entries(item)
    .filter(([, value]) => typeof value === 'string')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(fields);
}

/**
 * Refuses stage-1 data that overlaps the users being served: a shared user id, a shared question id, or the
 * same history item (id and text). Stage 1 is merged into everyone's base, so any target user's data in it
 * would reach every other user.
 */
export function assertDisjoint(
  taskTrain: readonly OverlapUser[],
  targets: readonly OverlapUser[],
  names: { readonly taskTrain?: string; readonly targets?: string } = {},
): void {
  const trainName = names.taskTrain ?? 'task-train data';
  const targetName = names.targets ?? 'the questions';
  const targetUsers = new Set(targets.map((u) => u.userId));
  const targetQuestions = new Set(targets.flatMap((u) => u.questionIds));
  const targetItems = new Map<string, string>();
  for (const u of targets) for (const item of u.items) targetItems.set(itemKey(item), u.userId);
  for (const u of taskTrain) {
    if (targetUsers.has(u.userId)) {
      throw new OppuError(
        'stage1_overlap',
        `${trainName}: user ${JSON.stringify(u.userId)} is also in ${targetName}; stage 1 must use other users' data`,
      );
    }
    const q = u.questionIds.find((id) => targetQuestions.has(id));
    if (q !== undefined) {
      throw new OppuError(
        'stage1_overlap',
        `${trainName}: question id ${JSON.stringify(q)} is also in ${targetName}; stage 1 must use other users' data`,
      );
    }
    for (const item of u.items) {
      const owner = targetItems.get(itemKey(item));
      if (owner !== undefined) {
        throw new OppuError(
          'stage1_overlap',
          `${trainName}: history item ${JSON.stringify(item.id)} of user ${JSON.stringify(u.userId)} is also in the history of target user ${JSON.stringify(owner)}; stage 1 must use other users' data`,
        );
      }
    }
  }
}
