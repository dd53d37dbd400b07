import { OppuError } from '../contracts/errors.js';
import type { LampOutputs } from '../lamp/outputs.js';
import { type LampScores, scoreLamp } from '../metrics/score-lamp.js';
import type { SynthResult } from './synthesize.js';

/** The latent-preference answer for one question of a synthetic set. */
export function oracleAnswer(data: SynthResult, questionId: string): string {
  const answer = data.oracleAnswers.get(questionId);
  if (answer === undefined)
    throw new OppuError('unknown_id', `oracleAnswer: no question with id "${questionId}"`);
  return answer;
}

/** Predictions in the official format from the oracle (or, with `which: 'baseline'`, the user-agnostic rule). */
export function oraclePredictions(data: SynthResult, which: 'oracle' | 'baseline' = 'oracle'): LampOutputs {
  const answers = which === 'oracle' ? data.oracleAnswers : data.baselineAnswers;
  return {
    task: data.task,
    golds: data.outputs.golds.map((g) => ({ id: g.id, output: answers.get(g.id)! })),
  };
}

/**
 * The best score a method that knows each user's latent preferences could reach on this data, measured with
 * the official metrics (it misses only the users' per-item noise).
 */
export function oracle(data: SynthResult): LampScores {
  return scoreLamp(data.task, data.outputs, oraclePredictions(data, 'oracle'));
}

/** The score of the user-agnostic rule: what personalisation has to beat. */
export function baseline(data: SynthResult): LampScores {
  return scoreLamp(data.task, data.outputs, oraclePredictions(data, 'baseline'));
}
