/**
 * LaMP-1/2 metrics as LaMP's evaluation computes them: both sides `strip()`ped, then mapped to their index in the
 * label list, anything outside it to -1; accuracy over the mapped values; sklearn's `f1_score(average="macro",
 * labels=range(len(labels)))`. An answer outside the label set is therefore wrong, lowers its gold label's
 * recall, and adds no class of its own. A label that occurs in neither golds nor predictions scores F1 0 and
 * still counts in the average (sklearn's zero_division default).
 */
export interface ClassificationScores {
  readonly accuracy: number;
  readonly f1: number;
}

/** Python's `str.strip()` (whitespace at both ends). */
export const pyStrip = (s: string): string => s.trim();

export function classificationScores(
  labels: readonly string[],
  golds: readonly string[],
  preds: readonly string[],
): ClassificationScores {
  if (golds.length !== preds.length)
    throw new Error(`classificationScores: ${golds.length} golds, ${preds.length} predictions`);
  const index = new Map(labels.map((l, i) => [l, i] as const));
  const map = (s: string) => index.get(pyStrip(s)) ?? -1;
  const n = labels.length;
  const tp = new Float64Array(n);
  const fp = new Float64Array(n);
  const fn = new Float64Array(n);
  let correct = 0;
  for (let i = 0; i < golds.length; i++) {
    const g = map(golds[i]!);
    const p = map(preds[i]!);
    if (g === p) correct++;
    if (g === p) {
      if (g >= 0) tp[g]!++;
    } else {
      if (p >= 0) fp[p]!++;
      if (g >= 0) fn[g]!++;
    }
  }
  let f1Sum = 0;
  for (let k = 0; k < n; k++) {
    const denom = 2 * tp[k]! + fp[k]! + fn[k]!;
    f1Sum += denom > 0 ? (2 * tp[k]!) / denom : 0;
  }
  return { accuracy: golds.length ? correct / golds.length : 0, f1: n ? f1Sum / n : 0 };
}
