import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AdapterWeights,
  OPPU_LORA,
  OppuError,
  type PeftEngine,
  type ProgressListener,
  type TrainingConfig,
  type TrainingExample,
} from '@oppu/core';
import { loadAdapter, saveAdapter, writeFileAtomic } from '@oppu/trainer';

/** OPPU stage 1: a task LoRA trained on other users' data, merged into the base before any user is served. */
export interface TaskAdaptationOptions {
  /** (prompt, answer) pairs of the task from users other than the ones served (e.g. a synthetic population). */
  readonly examples: readonly TrainingExample[];
  readonly training?: Partial<TrainingConfig>;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

const META = 'oppu_task.json';

/** A key for what the task adapter depends on: the base model and every example, in order. */
function adaptationKey(engine: PeftEngine, options: TaskAdaptationOptions): string {
  const h = createHash('sha256')
    .update(engine.model.info.hash)
    .update(JSON.stringify(options.training ?? {}));
  for (const ex of options.examples) h.update(ex.prompt).update('\u0000').update(ex.answer).update('\u0001');
  return h.digest('hex');
}

/**
 * Returns a new engine whose base has the task LoRA merged in. The adapter is trained once and kept in `dir`
 * (PEFT layout, written atomically), keyed by the base model's hash, the examples and the training settings;
 * later starts load it instead of training again.
 */
export async function adaptToTask(
  engine: PeftEngine,
  dir: string,
  options: TaskAdaptationOptions,
): Promise<{ engine: PeftEngine; trained: boolean }> {
  if (options.examples.length === 0) {
    throw new OppuError('no_examples', 'task adaptation: no examples given');
  }
  const key = adaptationKey(engine, options);
  let weights: AdapterWeights | undefined;
  try {
    const meta = JSON.parse(await readFile(join(dir, META), 'utf8')) as { key?: string };
    if (meta.key === key) weights = await loadAdapter(dir);
  } catch {
    weights = undefined; // absent or stale: train it
  }
  const trained = weights === undefined;
  if (!weights) {
    const result = await engine.trainAdapter(options.examples, {
      peft: OPPU_LORA,
      ...(options.training ? { training: options.training } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (result.cancelled) throw new OppuError('aborted', 'task adaptation was cancelled');
    weights = result.weights;
    await saveAdapter(dir, weights);
    await writeFileAtomic(
      join(dir, META),
      `${JSON.stringify({ key, examples: options.examples.length, finalLoss: result.finalLoss, steps: result.steps, createdAt: new Date().toISOString() }, null, 2)}\n`,
    );
  }
  return { engine: await engine.mergeAdapter(weights, 'task'), trained };
}
