import { OppuError } from '../contracts/errors.js';
import type { LampOutputs } from '../lamp/outputs.js';
import type { LampTaskId } from '../lamp/task-ids.js';
import { LAMP_TASK_FACTS } from '../lamp/tasks.js';
import { classificationScores } from './classification.js';
import { generationScores } from './generation.js';
import { regressionScores } from './regression.js';

/** The metrics of one task, under the names LaMP's evaluation prints them. */
export type LampScores =
  | { readonly task: LampTaskId; readonly count: number; readonly accuracy: number; readonly f1: number }
  | { readonly task: LampTaskId; readonly count: number; readonly MAE: number; readonly RMSE: number }
  | {
      readonly task: LampTaskId;
      readonly count: number;
      readonly 'rouge-1': number;
      readonly 'rouge-L': number;
    };

function listIds(ids: readonly string[], max = 10): string {
  const shown = ids.slice(0, max).map((id) => JSON.stringify(id));
  return ids.length > max ? `${shown.join(', ')} and ${ids.length - max} more` : shown.join(', ');
}

/**
 * Scores predictions against golds for `task`, as LaMP's `eval_task.py` does. The two id sets must be equal;
 * otherwise an OppuError lists the ids missing from the predictions and the ids the golds don't have.
 */
export function scoreLamp(
  task: LampTaskId,
  golds: Pick<LampOutputs, 'golds'>,
  preds: Pick<LampOutputs, 'golds'>,
  names: { golds?: string; preds?: string } = {},
): LampScores {
  const goldMap = new Map(golds.golds.map((g) => [g.id, g.output] as const));
  const predMap = new Map(preds.golds.map((p) => [p.id, p.output] as const));
  const missing = [...goldMap.keys()].filter((id) => !predMap.has(id));
  const extra = [...predMap.keys()].filter((id) => !goldMap.has(id));
  if (missing.length || extra.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`${missing.length} gold id(s) have no prediction: ${listIds(missing)}`);
    if (extra.length) parts.push(`${extra.length} prediction id(s) are not in the golds: ${listIds(extra)}`);
    throw new OppuError(
      'ids_mismatch',
      `${names.preds ?? 'predictions'} does not match ${names.golds ?? 'golds'}: ${parts.join('; ')}`,
    );
  }
  const ids = [...goldMap.keys()];
  const g = ids.map((id) => goldMap.get(id)!);
  const p = ids.map((id) => predMap.get(id)!);
  const facts = LAMP_TASK_FACTS[task];
  const count = ids.length;
  switch (facts.kind) {
    case 'classification': {
      const s = classificationScores(facts.labels, g, p);
      return { task, count, accuracy: s.accuracy, f1: s.f1 };
    }
    case 'regression': {
      const s = regressionScores(g, p, { ids, golds: names.golds, preds: names.preds });
      return { task, count, MAE: s.mae, RMSE: s.rmse };
    }
    case 'generation': {
      const s = generationScores(g, p);
      return { task, count, 'rouge-1': s.rouge1, 'rouge-L': s.rougeL };
    }
  }
}
