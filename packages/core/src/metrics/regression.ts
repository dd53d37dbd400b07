import { OppuError } from '../contracts/errors.js';

/**
 * LaMP-3 metrics as LaMP's evaluation computes them: strings stripped, parsed with Python's `float()`; a
 * prediction that does not parse scores as whichever of 1 and 5 is farther from the gold (5 when the gold is 3,
 * as `abs(1 - y) > abs(5 - y)` is then false). MAE and RMSE over all items.
 */
export interface RegressionScores {
  readonly mae: number;
  readonly rmse: number;
}

// Python float(): optional sign, digits with single underscores between them, optional fraction/exponent,
// or inf/infinity/nan in any case; surrounding whitespace allowed.
const DIGITS = String.raw`\d(?:_?\d)*`;
const PY_FLOAT = new RegExp(
  String.raw`^[+-]?(?:(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})(?:[eE][+-]?${DIGITS})?|inf(?:inity)?|nan)$`,
  'i',
);

/** Python's `float(s)`, or undefined where Python raises ValueError. */
export function pyFloat(s: string): number | undefined {
  const t = s.trim();
  if (!PY_FLOAT.test(t)) return undefined;
  const lower = t.toLowerCase();
  if (lower.includes('nan')) return Number.NaN;
  if (lower.includes('inf')) return lower.startsWith('-') ? -Infinity : Infinity;
  return Number(t.replaceAll('_', ''));
}

/** The number a prediction scores as against `gold`. */
export function ratingValue(pred: string, gold: number): number {
  const v = pyFloat(pred);
  if (v !== undefined) return v;
  return Math.abs(1 - gold) > Math.abs(5 - gold) ? 1 : 5;
}

/** Where the values of `regressionScores` came from, so that a refusal names the file and the item. */
export interface RegressionSources {
  /** The id of each item, in the order of the golds and predictions. */
  readonly ids?: readonly string[];
  readonly golds?: string;
  readonly preds?: string;
}

/**
 * MAE and RMSE. A gold must be a finite number; a prediction may be unparsable (it then scores as the farther of
 * 1 and 5, as LaMP does) but not NaN or infinite, which would make both means NaN or infinite: those are refused
 * with an OppuError naming the file and the item.
 */
export function regressionScores(
  golds: readonly string[],
  preds: readonly string[],
  sources: RegressionSources = {},
): RegressionScores {
  if (golds.length !== preds.length)
    throw new OppuError(
      'invalid_outputs',
      `regressionScores: ${golds.length} golds, ${preds.length} predictions`,
    );
  const where = (file: string | undefined, fallback: string, i: number) =>
    `${file ?? fallback}: ${sources.ids?.[i] !== undefined ? `id ${JSON.stringify(sources.ids[i])}` : `item ${i}`}`;
  let abs = 0;
  let sq = 0;
  for (let i = 0; i < golds.length; i++) {
    const g = pyFloat(golds[i]!);
    if (g === undefined || !Number.isFinite(g)) {
      throw new OppuError(
        'invalid_gold',
        `${where(sources.golds, 'golds', i)}: the gold ${JSON.stringify(golds[i]!.slice(0, 40))} is not ${g === undefined ? 'a number' : 'a finite number'}`,
      );
    }
    const p = ratingValue(preds[i]!, g);
    if (!Number.isFinite(p)) {
      throw new OppuError(
        'non_finite_prediction',
        `${where(sources.preds, 'predictions', i)}: the prediction ${JSON.stringify(preds[i]!.slice(0, 40))} is not a finite number (NaN and infinities cannot be scored)`,
      );
    }
    const d = p - g;
    abs += Math.abs(d);
    sq += d * d;
  }
  const n = golds.length;
  return { mae: n ? abs / n : 0, rmse: n ? Math.sqrt(sq / n) : 0 };
}
