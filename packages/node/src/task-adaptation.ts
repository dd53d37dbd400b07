import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AdapterWeights,
  type HistoryItem,
  type LampTaskId,
  type LoraConfig,
  lampTask,
  OppuError,
  type PeftEngine,
  type ProgressListener,
  questionPrompt,
  synthesize,
  TASK_LORA,
  type TextRanker,
  type TrainingConfig,
  type TrainingExample,
  taskAdaptationConfig,
  trainingExamples,
  trainTaskAdapter,
  writeFileAtomic,
} from '@oppu/core';
import { loadAdapter, saveAdapter } from '@oppu/trainer';
import { defaultBaseModelDir } from './base-model-dir.js';

/** OPPU stage 1: a task LoRA trained on other users' data, merged into the base before any user is served. */
export interface TaskAdaptationOptions {
  /** (prompt, answer) pairs of the task from users other than the ones served (e.g. a synthetic population). */
  readonly examples: readonly TrainingExample[];
  readonly training?: Partial<TrainingConfig>;
  /** The task LoRA's config; default `TASK_LORA` from `@oppu/core` (every projection, r 16). */
  readonly peft?: LoraConfig;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
  /** A folder with a task adapter already trained for this base (its oppu_task.json names the base hash). */
  readonly prebuilt?: string;
}

const META = 'oppu_task.json';

/** The stage-1 LoRA (one definition, in `@oppu/core`). */
export { TASK_LORA };

async function readMeta(dir: string): Promise<{ key?: string; baseHash?: string } | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, META), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * A key for what the task adapter depends on: the base model, the whole stage-1 configuration (LoRA and training,
 * defaults filled in) and every example, in order.
 */
function adaptationKey(engine: PeftEngine, options: TaskAdaptationOptions): string {
  const config = taskAdaptationConfig({
    ...(options.peft ? { peft: options.peft } : {}),
    ...(options.training ? { training: options.training } : {}),
  });
  const h = createHash('sha256').update(engine.model.info.hash).update(stableJson(config));
  for (const ex of options.examples) h.update(ex.prompt).update('\u0000').update(ex.answer).update('\u0001');
  return h.digest('hex');
}

/** JSON with object keys sorted, so equal configurations give equal keys. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
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
  const cached = await readMeta(dir);
  if (cached?.key === key) weights = await loadAdapter(dir).catch(() => undefined);
  if (!weights && options.prebuilt) {
    // A task adapter shipped with the base model (trained by the same recipe): use it as it is.
    const shipped = await readMeta(options.prebuilt);
    if (shipped?.baseHash === engine.model.info.hash) {
      weights = await loadAdapter(options.prebuilt);
      await saveAdapter(dir, weights);
      await writeFileAtomic(
        join(dir, META),
        `${JSON.stringify({ key, baseHash: engine.model.info.hash, from: options.prebuilt }, null, 2)}\n`,
      );
      return { engine: await engine.mergeAdapter(weights, 'task'), trained: false };
    }
  }
  const trained = weights === undefined;
  if (!weights) {
    const result = await trainTaskAdapter(engine, options.examples, {
      ...(options.peft ? { peft: options.peft } : {}),
      ...(options.training ? { training: options.training } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    weights = result.weights;
    await saveAdapter(dir, weights);
    await writeFileAtomic(
      join(dir, META),
      `${JSON.stringify(
        {
          key,
          baseHash: engine.model.info.hash,
          baseName: engine.model.info.name,
          peft: result.config.peft,
          training: result.config.training,
          examples: options.examples.length,
          finalLoss: result.finalLoss,
          steps: result.steps,
          createdAt: new Date().toISOString(),
        },
        null,
        2,
      )}\n`,
    );
  }
  return { engine: await engine.mergeAdapter(weights, 'task'), trained };
}

/**
 * Stage-1 data from a synthetic population (`synthesize` from @oppu/core): every history item as a (prompt,
 * answer) pair, each once, and every question with its gold answer. Pick a seed no served user comes from.
 *
 * With `retrieval`, every pair is given a second time as the retrieval methods write it: an item's prompt
 * carrying the top-k of *the same user's* earlier items, a question's the top-k of that user's history (the
 * pipeline's `trainingExamples` and `questionPrompt`). A base that has seen retrieved lines in training learns to
 * read them; one that has not treats them as noise.
 */
export function syntheticTaskExamples(
  task: LampTaskId,
  options: {
    readonly users?: number;
    readonly items?: number;
    readonly seed?: number;
    readonly retrieval?: { readonly k: number; readonly ranker: TextRanker };
  } = {},
): TrainingExample[] {
  const data = synthesize({
    task,
    users: options.users ?? 24,
    items: options.items ?? 12,
    queries: 2,
    seed: options.seed ?? 90_417,
  });
  const t = lampTask(task);
  const golds = new Map(data.outputs.golds.map((g) => [g.id, g.output]));
  const examples: TrainingExample[] = [];
  const seen = new Set<string>();
  const byUser = new Map<string, HistoryItem[]>();
  for (const q of data.questions) {
    const user = q.user_id ?? q.id;
    const items = byUser.get(user) ?? [];
    byUser.set(user, items);
    for (const item of q.profile) {
      const key = `${user}/${item.id}`;
      if (!seen.has(key)) {
        examples.push(t.promptAnswer(item));
        items.push(item);
      }
      seen.add(key);
    }
    examples.push({ prompt: t.prompt(t.parseInput(q.input)), answer: golds.get(q.id)! });
  }
  const { retrieval } = options;
  if (retrieval && retrieval.k > 0) {
    const opts = { k: retrieval.k, ranker: retrieval.ranker };
    // Each user's own items only; the first has no earlier items, so its pair is already there.
    for (const items of byUser.values()) examples.push(...trainingExamples(t, items, opts).slice(1));
    for (const q of data.questions) {
      const items = byUser.get(q.user_id ?? q.id)!;
      examples.push({ prompt: questionPrompt(t, q.input, items, opts), answer: golds.get(q.id)! });
    }
  }
  return examples;
}

/** The task adapter shipped beside a base model (`<model>/../task-adapters/<task>`), if there is one. */
export function shippedTaskAdapterDir(baseModelDir: string, task: string): string {
  return join(baseModelDir, '..', 'task-adapters', task);
}

/**
 * The stage-1 adapter shipped for `task` beside the base model in `baseModelDir` (default: the embedded model),
 * if there is one and it was trained on this very base (its oppu_task.json names the base's hash).
 */
export async function shippedTaskAdapter(
  engine: PeftEngine,
  task: string,
  baseModelDir: string = defaultBaseModelDir(),
): Promise<AdapterWeights | undefined> {
  const dir = shippedTaskAdapterDir(baseModelDir, task);
  const meta = await readMeta(dir);
  if (meta?.baseHash !== engine.model.info.hash) return undefined;
  return loadAdapter(dir);
}
