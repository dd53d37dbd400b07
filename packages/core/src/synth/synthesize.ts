import { OppuError } from '../contracts/errors.js';
import type { HistoryItem } from '../contracts/history.js';
import type { LongWorkOptions } from '../contracts/progress.js';
import { formatLampInput, type LampInputs } from '../lamp/input-format.js';
import type { LampOutputs } from '../lamp/outputs.js';
import type { LampQuestion } from '../lamp/questions.js';
import { LAMP_TASK_IDS, type LampTaskId, lampTaskId } from '../lamp/task-ids.js';
import { CITATION_MODEL } from './model-citation.js';
import { MOVIE_TAGGING_MODEL, NEWS_CATEGORY_MODEL } from './model-facets.js';
import { RATING_MODEL } from './model-rating.js';
import { EMAIL_SUBJECT_MODEL, HEADLINE_MODEL, PAPER_TITLE_MODEL, TWEET_MODEL } from './model-styled.js';
import { createRng, seedOf } from './prng.js';
import type { TaskModel } from './task-model.js';

/** The latent model behind each task's synthetic users. */
export const SYNTH_MODELS: Readonly<Record<LampTaskId, TaskModel<unknown>>> = {
  LaMP_1: CITATION_MODEL as TaskModel<unknown>,
  LaMP_2M: MOVIE_TAGGING_MODEL as TaskModel<unknown>,
  LaMP_2N: NEWS_CATEGORY_MODEL as TaskModel<unknown>,
  LaMP_3: RATING_MODEL as TaskModel<unknown>,
  LaMP_4: HEADLINE_MODEL as TaskModel<unknown>,
  LaMP_5: PAPER_TITLE_MODEL as TaskModel<unknown>,
  LaMP_6: EMAIL_SUBJECT_MODEL as TaskModel<unknown>,
  LaMP_7: TWEET_MODEL as TaskModel<unknown>,
};

export interface SynthOptions extends LongWorkOptions {
  readonly task: LampTaskId | string;
  /** Number of users. */
  readonly users: number;
  /** Typical history size: each user's is log-uniform in [items/2, 2*items] (geometric mean `items`, at least 2). */
  readonly items: number;
  /** Questions per user. */
  readonly queries: number;
  readonly seed: number;
  /**
   * Behaviour shift: after this fraction of each user's history (0 < shift < 1; `true` = 0.7) the user's
   * preferences change; later history items and all questions follow the new ones.
   */
  readonly shift?: number | boolean;
}

/** One synthetic user and the latent preferences that decide their answers. */
export interface SynthUser {
  readonly userId: string;
  readonly historySize: number;
  readonly preferences: unknown;
  readonly description: string;
  /** Present with `shift`: the preferences after `shiftDate`. */
  readonly shiftedPreferences?: unknown;
  readonly shiftedDescription?: string;
  readonly shiftDate?: string;
}

export interface SynthResult {
  readonly task: LampTaskId;
  readonly questions: LampQuestion[];
  readonly outputs: LampOutputs;
  readonly users: SynthUser[];
  /** Per question id: the answer of a method that knows the latent preferences (not the per-item noise). */
  readonly oracleAnswers: ReadonlyMap<string, string>;
  /** Per question id: the answer of a user-agnostic rule. */
  readonly baselineAnswers: ReadonlyMap<string, string>;
}

const DAY = 86_400_000;
const START = Date.UTC(2015, 0, 1);
const SPAN_DAYS = 7 * 365;
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function positiveInt(value: number, name: string, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new OppuError('invalid_option', `synthesize: ${name} must be an integer >= ${min} (got ${value})`);
  }
  return value;
}

/**
 * Synthetic LaMP data in the official format for any task: users with latent preferences that decide their
 * answers, varying activity, optional behaviour shift. Deterministic for a seed: the same options give the same
 * data, byte for byte, and user u's data does not depend on how many users are drawn.
 */
export function synthesize(options: SynthOptions): SynthResult {
  const task = lampTaskId(options.task);
  const users = positiveInt(options.users, 'users', 1);
  const items = positiveInt(options.items, 'items', 2);
  const queries = positiveInt(options.queries, 'queries', 1);
  if (!Number.isInteger(options.seed)) {
    throw new OppuError('invalid_option', `synthesize: seed must be an integer (got ${options.seed})`);
  }
  const shift = options.shift === true ? 0.7 : options.shift === false ? undefined : options.shift;
  if (shift !== undefined && !(shift > 0 && shift < 1)) {
    throw new OppuError(
      'invalid_option',
      `synthesize: shift must be a fraction between 0 and 1 (got ${shift})`,
    );
  }
  const model = SYNTH_MODELS[task];
  const taskIndex = LAMP_TASK_IDS.indexOf(task);

  const questions: LampQuestion[] = [];
  const golds: { id: string; output: string }[] = [];
  const synthUsers: SynthUser[] = [];
  const oracleAnswers = new Map<string, string>();
  const baselineAnswers = new Map<string, string>();

  for (let u = 0; u < users; u++) {
    if (options.signal?.aborted) throw new OppuError('aborted', 'synthesize: cancelled');
    const rng = createRng(seedOf(options.seed, taskIndex, u));
    // Ids name the seed, so two synthetic populations never share a user, item or question id.
    const user = `user_${options.seed}_${u}`;
    const size = Math.max(2, Math.round(rng.logUniform(items / 2, items * 2)));
    const before = model.preferences(rng);
    const after = shift === undefined ? undefined : model.shifted(rng, before);
    const days = Array.from({ length: size }, () => rng.int(0, SPAN_DAYS)).sort((a, b) => a - b);
    const shiftIndex = shift === undefined ? size : Math.floor(shift * size);

    const profile: HistoryItem[] = days.map((day, j) => {
      const ex = model.example(rng, j < shiftIndex ? before : after!);
      return { id: `${options.seed}_${u}_${j}`, ...ex.fields, date: isoDate(START + day * DAY) };
    });
    const current = after ?? before;
    for (let q = 0; q < queries; q++) {
      const ex = model.example(rng, current);
      const id = `${options.seed}_${u}_q${q}`;
      questions.push({
        id,
        input: formatLampInput(task, ex.content as LampInputs[typeof task]),
        profile,
        user_id: user,
      });
      golds.push({ id, output: ex.answer });
      oracleAnswers.set(id, ex.oracle);
      baselineAnswers.set(id, ex.baseline);
    }
    synthUsers.push({
      userId: user,
      historySize: size,
      preferences: before,
      description: model.describe(before),
      ...(after === undefined
        ? {}
        : {
            shiftedPreferences: after,
            shiftedDescription: model.describe(after),
            shiftDate: profile[shiftIndex]?.date ?? isoDate(START + (SPAN_DAYS + 1) * DAY),
          }),
    });
    options.onProgress?.({ phase: 'synthesize', done: u + 1, total: users });
  }
  return { task, questions, outputs: { task, golds }, users: synthUsers, oracleAnswers, baselineAnswers };
}
