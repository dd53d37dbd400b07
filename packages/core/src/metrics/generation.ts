import { rouge1, rougeL } from './rouge.js';

/**
 * LaMP-4..7 metrics: ROUGE-1 and ROUGE-L F1 per item (both sides stripped, as LaMP does), averaged over items.
 *
 * LaMP's script reports `BootstrapAggregator().aggregate()[...].mid.fmeasure` through HF `evaluate`: the median
 * of 1000 unseeded bootstrap resamples of the per-item mean. That number moves from run to run; the quantity it
 * estimates is the plain mean computed here (they differ by bootstrap noise, typically < 0.001 at LaMP sizes).
 */
export interface GenerationScores {
  readonly rouge1: number;
  readonly rougeL: number;
}

export function generationScores(golds: readonly string[], preds: readonly string[]): GenerationScores {
  if (golds.length !== preds.length)
    throw new Error(`generationScores: ${golds.length} golds, ${preds.length} predictions`);
  let r1 = 0;
  let rl = 0;
  for (let i = 0; i < golds.length; i++) {
    const g = golds[i]!.trim();
    const p = preds[i]!.trim();
    r1 += rouge1(g, p).fmeasure;
    rl += rougeL(g, p).fmeasure;
  }
  const n = golds.length;
  return { rouge1: n ? r1 / n : 0, rougeL: n ? rl / n : 0 };
}
