import type { CandidateScores } from '../contracts/base-model.js';
import { OppuError } from '../contracts/errors.js';
import type { TaskDefinition } from '../contracts/task.js';
import { pyFloat } from '../metrics/regression.js';

/**
 * How candidates of different lengths are compared (lm-evaluation-harness's `acc` and `acc_norm`):
 * - `'none'`: by the summed log-probability of each candidate's tokens (and of the end of the answer), i.e. by
 *   the probability the model gives the whole answer. The softmax over the label set is then the model's own
 *   distribution restricted to the labels.
 * - `'per-token'`: by the mean log-probability per scored token. It undoes the penalty a long label pays for
 *   every extra token a model is unsure of, and favours long labels when the model is sure of their later
 *   tokens; the "probabilities" are then a softmax of those means, a score rather than the model's belief.
 * With labels of equal token length the two choose alike, but `'per-token'` flattens the probabilities.
 */
export type LengthNormalization = 'none' | 'per-token';

/**
 * How a rating (regression) task's answer is read off the candidates' probabilities:
 * - `'argmax'`: the most probable rating, a label.
 * - `'expected'`: the expected rating `sum(p_i * rating_i)`, written with at most two decimals and **not rounded
 *   to a label** (e.g. `"4.37"`). LaMP-3's MAE and RMSE read predictions as numbers (`float()`), and the
 *   expectation is the value with the least expected squared error under the model's probabilities; rounding it
 *   to the nearest label would give a value that is best for neither metric. (The two decimals move a score by
 *   at most 0.005.)
 */
export type RatingAnswer = 'argmax' | 'expected';

export interface LabelChoiceOptions {
  /** Default: `labelChoiceDefaults(task)`. */
  readonly normalization?: LengthNormalization;
  /** Only for candidates that are numbers (LaMP-3's ratings). Default `'argmax'`. */
  readonly rating?: RatingAnswer;
}

export interface LabelChoice {
  /** What to answer: the most probable candidate, or the expected rating under `rating: 'expected'`. */
  readonly answer: string;
  /** Index of the most probable candidate (the first of equals). */
  readonly index: number;
  /** Per candidate, by its text: the softmax of its (normalised) score over the candidates; they sum to 1. */
  readonly probabilities: Readonly<Record<string, number>>;
  /** The expected rating (`rating: 'expected'` only). */
  readonly expected?: number;
}

/**
 * The defaults per LaMP task, and for other tasks by kind (`'none'`, `'argmax'`):
 * - LaMP-1 (`[1]`/`[2]`) and LaMP-3 (`1`..`5`): `'none'`. Their labels have the same shape (the same number of
 *   tokens), so normalising cannot change the choice and would only flatten the probabilities shown.
 * - LaMP-2M/2N (1 to 6 tokens per label with the embedded model's tokenizer): `'none'` as well. Every candidate
 *   is scored with the end of the answer after it (as training teaches answers), so a short label is not
 *   credited with the longer labels it begins, and the probabilities shown are then the model's own. Measured
 *   with the shipped task adapters (`pnpm bench:label-choice`, 200 development questions, `--k 0` / `--k 1`):
 *   LaMP-2M accuracy 0.520 / 0.505 with `'none'`, 0.510 / 0.480 per token; LaMP-2N 0.490 / 0.480 against
 *   0.500 / 0.505. Both gaps are within one standard error of a 200-question accuracy (about 0.035).
 * - LaMP-3's answer is `'argmax'`, a rating from the label set (what the service, and so the playground and the
 *   bot, show people). A run scored by MAE/RMSE does better with `'expected'`: MAE 0.945 -> 0.892 and RMSE
 *   1.325 -> 1.100 on the same bench (`--k 1`: 0.930 -> 0.899, 1.364 -> 1.144), so `runLamp` answers rating
 *   tasks with `'expected'` unless told otherwise.
 */
export function labelChoiceDefaults(task: Pick<TaskDefinition, 'id' | 'kind'>): Required<LabelChoiceOptions> {
  return LABEL_CHOICE_DEFAULTS[task.id] ?? { normalization: 'none', rating: 'argmax' };
}

const LABEL_CHOICE_DEFAULTS: Readonly<Record<string, Required<LabelChoiceOptions>>> = Object.freeze({
  LaMP_1: { normalization: 'none', rating: 'argmax' },
  LaMP_2M: { normalization: 'none', rating: 'argmax' },
  LaMP_2N: { normalization: 'none', rating: 'argmax' },
  LaMP_3: { normalization: 'none', rating: 'argmax' },
});

/**
 * Turns the scores `BaseModel.scoreCandidates` gave one request into an answer: the softmax over the candidates
 * of their log-probabilities (summed, or per token under `normalization: 'per-token'`), the most probable
 * candidate, and under `rating: 'expected'` the expected rating. Candidates must be distinct; a candidate the
 * model rules out (log-probability -Infinity) gets probability 0. Scores of the wrong length, NaN, or all
 * -Infinity are refused with an OppuError.
 */
export function chooseCandidate(
  candidates: readonly string[],
  scores: CandidateScores,
  options: LabelChoiceOptions = {},
): LabelChoice {
  const n = candidates.length;
  if (n === 0) throw new OppuError('no_candidates', 'chooseCandidate: candidates is empty');
  if (new Set(candidates).size !== n) {
    const twice = candidates.find((c, i) => candidates.indexOf(c) !== i);
    throw new OppuError(
      'duplicate_candidates',
      `chooseCandidate: candidates lists ${JSON.stringify(twice)} more than once`,
    );
  }
  if (scores.logProbs.length !== n || scores.tokens.length !== n) {
    throw new OppuError(
      'invalid_scores',
      `chooseCandidate: ${n} candidates but ${scores.logProbs.length} logProbs and ${scores.tokens.length} tokens`,
    );
  }
  const normalization = options.normalization ?? 'none';
  const values = scores.logProbs.map((lp, i) => {
    if (Number.isNaN(lp) || lp === Number.POSITIVE_INFINITY) {
      throw new OppuError(
        'invalid_scores',
        `chooseCandidate: logProbs[${i}] (candidate ${JSON.stringify(candidates[i])}) is ${lp}`,
      );
    }
    if (normalization === 'none') return lp;
    const t = scores.tokens[i]!;
    if (!(t >= 1)) {
      throw new OppuError(
        'invalid_scores',
        `chooseCandidate: tokens[${i}] (candidate ${JSON.stringify(candidates[i])}) is ${t}; per-token normalisation needs at least 1`,
      );
    }
    return lp / t;
  });
  let index = 0;
  for (let i = 1; i < n; i++) if (values[i]! > values[index]!) index = i;
  const top = values[index]!;
  if (top === Number.NEGATIVE_INFINITY) {
    throw new OppuError('invalid_scores', 'chooseCandidate: every candidate has log-probability -Infinity');
  }
  const weights = values.map((v) => Math.exp(v - top));
  const total = weights.reduce((a, b) => a + b, 0);
  const p = weights.map((w) => w / total);
  const probabilities = Object.fromEntries(candidates.map((c, i) => [c, p[i]!]));
  if ((options.rating ?? 'argmax') === 'argmax') return { answer: candidates[index]!, index, probabilities };
  const ratings = candidates.map((c) => {
    const v = pyFloat(c);
    if (v === undefined || !Number.isFinite(v)) {
      throw new OppuError(
        'invalid_option',
        `chooseCandidate: rating 'expected' needs numeric candidates; ${JSON.stringify(c)} is not a number`,
      );
    }
    return v;
  });
  const expected = ratings.reduce((sum, r, i) => sum + r * p[i]!, 0);
  return { answer: formatRating(expected), index, probabilities, expected };
}

/** A rating with at most two decimals and no trailing zeros: 4.3712 -> "4.37", 4.999 -> "5", 3.5 -> "3.5". */
function formatRating(value: number): string {
  return String(Math.round(value * 100) / 100);
}
