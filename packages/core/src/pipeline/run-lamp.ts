import type { SamplingOptions } from '../contracts/base-model.js';
import type { PeftEngine, TextRanker, TrainingExample } from '../contracts/engine.js';
import { OppuError } from '../contracts/errors.js';
import type { HistoryItem } from '../contracts/history.js';
import type { LoraConfig, PeftConfig, TrainingConfig } from '../contracts/peft.js';
import { OPPU_LORA, OPPU_TRAINING } from '../contracts/peft.js';
import type { ProfileSummarizer } from '../contracts/profile-summarizer.js';
import type { LongWorkOptions } from '../contracts/progress.js';
import type { TaskDefinition, TaskKind } from '../contracts/task.js';
import type { AdapterWeights } from '../contracts/tensors.js';
import { type UserId, userIdFor } from '../contracts/user.js';
import { chooseCandidate, type LabelChoiceOptions, labelChoiceDefaults } from './label-choice.js';
import { METHODS, type MethodName } from './methods.js';
import { answerTokensFor, PromptFit, type TruncationOptions } from './prompt-fit.js';
import { questionPrompt, trainingExamples } from './prompts.js';
import { assertDisjoint, trainTaskAdapter } from './task-adaptation.js';

/** One LaMP question as the pipeline needs it. */
export interface PipelineQuestion {
  readonly id: string;
  readonly input: string;
  readonly profile: readonly HistoryItem[];
  readonly user_id?: string;
}

/** A user: their history (the union of their questions' profiles) and their questions. */
export interface PipelineUser {
  readonly userId: UserId;
  readonly items: readonly HistoryItem[];
  readonly questions: readonly PipelineQuestion[];
}

export interface RunLampOptions extends LongWorkOptions {
  readonly task: TaskDefinition;
  readonly questions: readonly PipelineQuestion[];
  readonly method: MethodName;
  /** Retrieved items per prompt for the methods with retrieval (default 1, as in the paper). */
  readonly k?: number;
  /** The per-user (stage 2) PEFT method; default OPPU's LoRA. */
  readonly peft?: PeftConfig;
  /** The stage-1 LoRA merged into the base; default `TASK_LORA` (task-adaptation.ts). */
  readonly taskPeft?: LoraConfig;
  /** Per-user (stage 2) training; defaults are OPPU's. */
  readonly training?: Partial<TrainingConfig>;
  /** Stage 1 training (task adaptation); default `TASK_TRAINING` (task-adaptation.ts). */
  readonly taskTraining?: Partial<TrainingConfig>;
  /**
   * Stage 1 data: (question, gold) pairs and history items of users other than the target users. Refused when it
   * shares a user id, a question id or an item's text with the targets.
   */
  readonly taskTrain?: {
    readonly questions: readonly PipelineQuestion[];
    readonly golds: ReadonlyMap<string, string>;
  };
  /** A stage-1 LoRA already trained on other users (e.g. the task adapter shipped with the base): merged as is. */
  readonly taskAdapter?: AdapterWeights;
  /** Skip stage 1 (the engine's base is already task-adapted, or none is wanted). */
  readonly skipTaskAdaptation?: boolean;
  readonly engine: PeftEngine;
  readonly ranker: TextRanker;
  readonly summarizer?: ProfileSummarizer;
  /** Generation tasks' decoding, over `LAMP_SAMPLING[task.kind]`. */
  readonly sampling?: SamplingOptions;
  /**
   * How prompts are cut by tokens to fit the model's context (prompt-fit.ts, `TRUNCATION_DEFAULTS`): training
   * examples within the training `maxLength`, questions with room for their answer. A long input is never an error.
   */
  readonly truncation?: TruncationOptions;
  /**
   * How a label task (classification, regression) picks its answer from the scores of its labels, over
   * `labelChoiceDefaults(task)`, except that rating tasks answer with the expected rating (LaMP's MAE/RMSE
   * read numbers); `{ rating: 'argmax' }` answers with the most probable label instead.
   */
  readonly labelChoice?: LabelChoiceOptions;
  readonly seed?: number;
  /**
   * Users whose adapters train together in shared batches when the engine has `trainAdapters` (LoRA only); each
   * user's adapter is trained as if alone, from their own examples. Default 8; 1 trains one user at a time.
   */
  readonly usersPerBatch?: number;
  /** Called with each user's trained adapter (e.g. to store it). */
  readonly onAdapter?: (
    user: UserId,
    weights: AdapterWeights,
    stats: { loss: number; steps: number },
  ) => Promise<void> | void;
}

export interface RunLampResult {
  /**
   * How stage 1 was done: trained on `taskTrain`, a given `taskAdapter` merged, or none (no task-train data and
   * no task adapter: the target users' own data is never pooled into a shared base).
   */
  readonly taskAdaptation: 'trained' | 'prebuilt' | 'none';
  readonly predictions: { readonly task: string; readonly golds: { id: string; output: string }[] };
  readonly prompts: ReadonlyMap<string, string>;
  /**
   * Label tasks: per question id, each label's probability (they sum to 1), as `chooseCandidate` gives them.
   * Absent for generation tasks.
   */
  readonly probabilities?: ReadonlyMap<string, Readonly<Record<string, number>>>;
  readonly seconds: {
    readonly taskAdaptation: number;
    readonly personalization: number;
    readonly inference: number;
  };
}

/**
 * Groups questions into users. Questions with the same `user_id` belong to one user whose history is the union
 * of their profiles (by item id); a question without `user_id` is its own user, as in LaMP (id `q<question id>`).
 * Ids map injectively (`userIdFor`: a valid id as is, any other with a hash of the whole of it), and two users
 * that would still share an id (a `user_id` chosen to equal another's mapped id) are refused, never merged.
 */
export function groupUsers(questions: readonly PipelineQuestion[]): PipelineUser[] {
  // Keyed by where the identity comes from, so `user_id: "q1"` and a question "1" without one stay apart here.
  const byUser = new Map<string, { items: Map<string, HistoryItem>; questions: PipelineQuestion[] }>();
  for (const q of questions) {
    const key = q.user_id !== undefined ? `u:${q.user_id}` : `q:${q.id}`;
    let user = byUser.get(key);
    if (!user) {
      user = { items: new Map(), questions: [] };
      byUser.set(key, user);
    }
    user.questions.push(q);
    for (const item of q.profile) if (!user.items.has(item.id)) user.items.set(item.id, item);
  }
  const owners = new Map<UserId, PipelineQuestion>();
  const source = (q: PipelineQuestion) =>
    q.user_id !== undefined
      ? `user_id ${JSON.stringify(String(q.user_id).slice(0, 80))}`
      : `question ${JSON.stringify(String(q.id).slice(0, 80))} (no user_id)`;
  return [...byUser.values()].map((u) => {
    const first = u.questions[0]!;
    const id = userIdFor(first.user_id !== undefined ? String(first.user_id) : `q${first.id}`);
    const other = owners.get(id);
    if (other !== undefined) {
      throw new OppuError(
        'user_id_collision',
        `questions: ${source(other)} and ${source(first)} would both be user "${id}"; give one of them another user_id`,
      );
    }
    owners.set(id, first);
    return { userId: id, items: sortByDate([...u.items.values()]), questions: u.questions };
  });
}

/** History in time order when items carry dates (stable otherwise), so "items before i" means earlier ones. */
function sortByDate(items: HistoryItem[]): HistoryItem[] {
  if (!items.every((it) => typeof it.date === 'string')) return items;
  return items
    .map((it, i) => ({ it, i }))
    .sort((a, b) => (a.it.date! < b.it.date! ? -1 : a.it.date! > b.it.date! ? 1 : a.i - b.i))
    .map((x) => x.it);
}

/**
 * How LaMP answers are generated, by task kind: greedy, one line (the answer ends at the end of the line), and
 * the anti-repetition options for free text. Label tasks (classification, regression) are not generated: every
 * label is scored (`BaseModel.scoreCandidates`) and `chooseCandidate` picks one; their entries serve only a task
 * of that kind without labels. Used by `runLamp` and by `OppuService.ask` (and so by every client of the service).
 */
export const LAMP_SAMPLING: Readonly<Record<TaskKind, SamplingOptions>> = Object.freeze({
  classification: Object.freeze({
    maxNewTokens: 8,
    temperature: 0,
    stop: ['\n'],
    repetitionPenalty: 1,
    noRepeatNgramSize: 0,
  }),
  regression: Object.freeze({
    maxNewTokens: 3,
    temperature: 0,
    stop: ['\n'],
    repetitionPenalty: 1,
    noRepeatNgramSize: 0,
  }),
  // Over the answer only: headlines and paraphrases copy from the prompt (`pnpm bench:stage1-check LaMP_4 ...`,
  // docs/results.md: over prompt and answer the options cost ROUGE-1, over the answer alone they do not).
  generation: Object.freeze({
    maxNewTokens: 48,
    temperature: 0,
    stop: ['\n'],
    repetitionPenalty: 1.1,
    noRepeatNgramSize: 3,
    repetitionScope: 'output',
  }),
});

/** The labels a task is answered from: its label set for a classification/regression task, else none. */
export function answerLabels(task: Pick<TaskDefinition, 'kind' | 'labels'>): readonly string[] | undefined {
  return task.kind !== 'generation' && task.labels.length > 0 ? task.labels : undefined;
}

/** The first line of a generated answer, trimmed: what LaMP scores. */
export function cleanAnswer(text: string): string {
  return (text.split('\n')[0] ?? '').trim();
}

/**
 * The truncation policy for each kind of prompt of a run, bound to the base model: questions fit its context;
 * training examples fit the training `maxLength` when it is shorter (stage 2's, and stage 1's own).
 */
function promptFits(
  engine: PeftEngine,
  options: Pick<RunLampOptions, 'truncation' | 'training' | 'taskTraining'>,
): { query: PromptFit; training: PromptFit; task: PromptFit } {
  const context = engine.model.info.contextLength;
  const within = (maxLength: number | undefined) =>
    new PromptFit(engine.model, {
      ...(options.truncation ?? {}),
      contextLength: Math.min(
        context,
        maxLength ?? OPPU_TRAINING.maxLength,
        options.truncation?.contextLength ?? context,
      ),
    });
  return {
    query: new PromptFit(engine.model, options.truncation),
    training: within(options.training?.maxLength),
    task: within(options.taskTraining?.maxLength),
  };
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new OppuError('aborted', 'the run was cancelled');
}

/**
 * OPPU on a LaMP questions set: stage 1 task adaptation (a LoRA merged into the base), stage 2 one fresh adapter
 * per user on that user's own history, stage 3 inference with each user's profile, retrieved history and adapter.
 * Every user's data stays with that user: each adapter starts fresh, retrieval and profiles read only that
 * user's items (the released OPPU code accumulates users' data across iterations; this does not).
 */
export async function runLamp(options: RunLampOptions): Promise<RunLampResult> {
  const { task, method, engine: baseEngine, ranker, signal, onProgress } = options;
  const spec = METHODS[method];
  const k = spec.retrieval ? (options.k ?? 1) : 0;
  const peft = options.peft ?? OPPU_LORA;
  const seed = options.seed ?? 42;
  const users = groupUsers(options.questions);
  const fits = promptFits(baseEngine, options);
  if (spec.profile && !options.summarizer) {
    throw new OppuError('missing_summarizer', `method ${method} needs a profile summarizer`);
  }

  // Profiles (PAG): each from the user's own history only.
  const profiles = new Map<UserId, string>();
  if (spec.profile) {
    for (const [i, user] of users.entries()) {
      checkAbort(signal);
      const profile = await options.summarizer!.summarize(user.userId, user.items, task.id, signal);
      profiles.set(user.userId, profile.text);
      onProgress?.({ phase: 'profiles', done: i + 1, total: users.length });
    }
  }
  const userOptions = (user: PipelineUser) => ({
    k,
    ranker,
    ...(profiles.has(user.userId) ? { profile: profiles.get(user.userId)! } : {}),
  });

  // Stage 1: task adaptation on other users' data only (never the target users': it is merged into every
  // user's base), or a task adapter trained that way beforehand; without either, no stage 1.
  let t0 = performance.now();
  let engine = baseEngine;
  let taskAdaptation: RunLampResult['taskAdaptation'] = 'none';
  if (!options.skipTaskAdaptation && options.taskTrain) {
    const trainUsers = groupUsers(options.taskTrain.questions);
    assertDisjoint(
      trainUsers.map((u) => ({
        userId: u.userId,
        items: u.items,
        questionIds: u.questions.map((q) => q.id),
      })),
      users.map((u) => ({ userId: u.userId, items: u.items, questionIds: u.questions.map((q) => q.id) })),
    );
    const examples: TrainingExample[] = [];
    for (const user of trainUsers) {
      examples.push(...trainingExamples(task, user.items, { k: 0, fit: fits.task }));
      for (const q of user.questions) {
        const gold = options.taskTrain.golds.get(q.id);
        if (gold === undefined) {
          throw new OppuError(
            'missing_gold',
            `task-train outputs: no gold output for question id ${JSON.stringify(q.id)}`,
          );
        }
        const answer = fits.task.answer(gold);
        const opts = { k: 0, fit: fits.task, answerTokens: fits.task.count(` ${answer}`) };
        examples.push({ prompt: questionPrompt(task, q.input, user.items, opts), answer });
      }
    }
    const { weights } = await trainTaskAdapter(baseEngine, examples, {
      ...(options.taskPeft ? { peft: options.taskPeft } : {}),
      training: { seed, ...(options.taskTraining ?? {}) },
      ...(signal ? { signal } : {}),
      onProgress: (e) => onProgress?.({ ...e, phase: 'task adaptation' }),
    });
    engine = await baseEngine.mergeAdapter(weights, `${task.id}-task`);
    taskAdaptation = 'trained';
  } else if (!options.skipTaskAdaptation && options.taskAdapter) {
    engine = await baseEngine.mergeAdapter(options.taskAdapter, `${task.id}-task`);
    taskAdaptation = 'prebuilt';
  }
  const taskSeconds = (performance.now() - t0) / 1000;

  try {
    // Stage 2: one fresh adapter per user, on that user's own history. Engines that can train several users'
    // LoRAs in shared batches (each row through its own user's adapter, each result as if trained alone) get
    // groups of `usersPerBatch`; the others one user at a time.
    t0 = performance.now();
    const adapters = new Map<UserId, AdapterWeights>();
    if (spec.adapter) {
      const training = { seed, ...(options.training ?? {}) };
      const trainable = users
        .map((user) => ({
          user,
          examples: trainingExamples(task, user.items, { ...userOptions(user), fit: fits.training }),
        }))
        .filter((u) => u.examples.length > 0); // no history: the user is answered by the base
      const group =
        engine.trainAdapters && peft.method === 'lora' ? Math.max(1, options.usersPerBatch ?? 8) : 1;
      let done = 0;
      for (let g = 0; g < trainable.length; g += group) {
        checkAbort(signal);
        const slice = trainable.slice(g, g + group);
        const phase = `users ${g + 1}-${g + slice.length}/${trainable.length}`;
        const common = {
          peft,
          training,
          ...(signal ? { signal } : {}),
          onProgress: (e: Parameters<NonNullable<LongWorkOptions['onProgress']>>[0]) =>
            onProgress?.({ ...e, phase }),
        };
        const results =
          slice.length > 1 && engine.trainAdapters
            ? await engine.trainAdapters(
                slice.map((u) => u.examples),
                common,
              )
            : [await engine.trainAdapter(slice[0]!.examples, common)];
        for (const [j, result] of results.entries()) {
          const { user } = slice[j]!;
          if (result.cancelled)
            throw new OppuError('aborted', 'the run was cancelled during personalization');
          if (!Number.isFinite(result.finalLoss)) {
            throw new OppuError(
              'non_finite_loss',
              `user ${JSON.stringify(user.userId)}: the training loss became ${result.finalLoss}; lower the learning rate`,
            );
          }
          adapters.set(user.userId, result.weights);
          await options.onAdapter?.(user.userId, result.weights, {
            loss: result.finalLoss,
            steps: result.steps,
          });
          done += 1;
          onProgress?.({ phase: 'personalization', done, total: trainable.length, loss: result.finalLoss });
        }
      }
    }
    const personalSeconds = (performance.now() - t0) / 1000;

    // Stage 3: inference; requests of different users (different adapters) are batched by the engine. A label
    // task's answer is the label `chooseCandidate` picks from the scores of all its labels; the others generate.
    t0 = performance.now();
    const requests: { id: string; prompt: string; adapter?: AdapterWeights }[] = [];
    const maxNewTokens = { ...LAMP_SAMPLING[task.kind], ...(options.sampling ?? {}) }.maxNewTokens;
    const answerTokens = answerTokensFor(fits.query, answerLabels(task), maxNewTokens);
    for (const user of users) {
      for (const q of user.questions) {
        const fitted = { ...userOptions(user), fit: fits.query, answerTokens };
        const prompt = questionPrompt(task, q.input, user.items, fitted);
        const adapter = adapters.get(user.userId);
        requests.push({ id: q.id, prompt, ...(adapter ? { adapter } : {}) });
      }
    }
    const sampling: SamplingOptions = {
      ...LAMP_SAMPLING[task.kind],
      seed,
      ...(options.sampling ?? {}),
      ...(signal ? { signal } : {}),
    };
    const labels = answerLabels(task);
    // LaMP scores ratings by MAE and RMSE, so a run answers with the expected rating (`pnpm bench:label-choice
    // --tasks LaMP_3`: MAE 0.945 with the most probable rating, 0.892 with the expected one); the service keeps
    // answering people with a rating from the label set.
    const choice = {
      ...labelChoiceDefaults(task),
      ...(task.kind === 'regression' ? { rating: 'expected' as const } : {}),
      ...(options.labelChoice ?? {}),
    };
    const golds: { id: string; output: string }[] = [];
    const probabilities = new Map<string, Readonly<Record<string, number>>>();
    const batch = 16;
    for (let i = 0; i < requests.length; i += batch) {
      checkAbort(signal);
      const slice = requests.slice(i, i + batch);
      const asked = slice.map((r) => ({ prompt: r.prompt, ...(r.adapter ? { adapter: r.adapter } : {}) }));
      if (labels) {
        const scores = await engine.model
          .scoreCandidates(
            asked.map((r) => ({ ...r, candidates: labels })),
            signal ? { signal } : {},
          )
          .catch((error: unknown) => {
            checkAbort(signal);
            throw error;
          });
        if (scores.length !== slice.length) {
          throw new OppuError(
            'engine_result_count',
            `the base model scored ${scores.length} of ${slice.length} requests`,
          );
        }
        scores.forEach((score, j) => {
          const picked = chooseCandidate(labels, score, choice);
          golds.push({ id: slice[j]!.id, output: picked.answer });
          probabilities.set(slice[j]!.id, picked.probabilities);
        });
      } else {
        const results = await engine.model.generate(asked, sampling);
        results.forEach((res, j) => {
          golds.push({ id: slice[j]!.id, output: cleanAnswer(res.text) });
        });
      }
      onProgress?.({
        phase: 'inference',
        done: Math.min(i + batch, requests.length),
        total: requests.length,
      });
    }
    return {
      taskAdaptation,
      predictions: { task: task.id, golds },
      prompts: new Map(requests.map((r) => [r.id, r.prompt])),
      ...(labels ? { probabilities } : {}),
      seconds: {
        taskAdaptation: taskSeconds,
        personalization: personalSeconds,
        inference: (performance.now() - t0) / 1000,
      },
    };
  } finally {
    if (engine !== baseEngine) engine.dispose();
  }
}
