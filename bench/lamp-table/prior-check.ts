/**
 * Why per-user training does not move LaMP-2M/2N on the synthetic data: does a user's history say which of a
 * question's two facets they will pick? On the development seeds (never the table's), the task-adapted base's
 * label probabilities are combined with a per-user prior from the history's label counts,
 * log p(label) + lambda * log(count + 0.5), the most a bias toward the user's frequent labels can give; and where
 * the question's two facets are known (its oracle and no-user answers differ), how often the base's first label is
 * one of them and its first two are both. Also, with no model: the history-count rule, which knows a question's
 * two facets (from the generator: its oracle and no-user answers) and picks the one the history holds more often
 * (ties: the no-user answer), the most a history's label counts say when the facets are found.
 *
 *   pnpm bench:prior-check [LaMP_2M|LaMP_2N] [--seeds 101,102,103] [--items 8]
 */
import { parseArgs } from 'node:util';
import { LAMP_TASKS, type LampTaskId, runLamp, synthesize } from '@oppu/core';
import { createEngine, createRanker, shippedTaskAdapter } from '@oppu/node';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { seeds: { type: 'string', default: '101,102,103' }, items: { type: 'string', default: '8' } },
});
const task = (positionals[0] ?? 'LaMP_2M') as LampTaskId;
if (task !== 'LaMP_2M' && task !== 'LaMP_2N') throw new Error(`task must be LaMP_2M or LaMP_2N, got ${task}`);
const field = task === 'LaMP_2M' ? 'tag' : 'category';
const engine = await createEngine({});
const shipped = await shippedTaskAdapter(engine, task);
if (!shipped) throw new Error(`no shipped task adapter for ${task}`);
const e = await engine.mergeAdapter(shipped, `${task}-task`);
const lambdas = [0, 0.25, 0.5, 1, 2, 4];
const hits = new Map(lambdas.map((l) => [l, 0]));
let n = 0;
let known = 0;
let firstInPair = 0;
let firstTwoArePair = 0;
let countRule = 0;
let rule = 0;
for (const seed of values.seeds!.split(',').map(Number)) {
  const data = synthesize({ task, users: 8, items: Number(values.items), queries: 9, seed });
  const r = await runLamp({
    task: LAMP_TASKS[task],
    questions: data.questions,
    method: 'base',
    engine: e,
    skipTaskAdaptation: true,
    ranker: createRanker(),
    seed,
  });
  const gold = new Map(data.outputs.golds.map((g) => [g.id, g.output]));
  for (const q of data.questions) {
    const p = r.probabilities!.get(q.id)!;
    const counts = new Map<string, number>();
    for (const item of q.profile) {
      const label = String((item as Record<string, unknown>)[field]);
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    for (const l of lambdas) {
      let best = '';
      let bestValue = -Infinity;
      for (const [label, prob] of Object.entries(p)) {
        const v = Math.log(prob + 1e-9) + l * Math.log((counts.get(label) ?? 0) + 0.5);
        if (v > bestValue) [best, bestValue] = [label, v];
      }
      if (best === gold.get(q.id)) hits.set(l, hits.get(l)! + 1);
    }
    const ranked = Object.entries(p)
      .sort((a, b) => b[1] - a[1])
      .map(([label]) => label);
    const [o, b] = [data.oracleAnswers.get(q.id)!, data.baselineAnswers.get(q.id)!];
    const pick = (counts.get(o) ?? 0) > (counts.get(b) ?? 0) ? o : b;
    if (pick === gold.get(q.id)) countRule += 1;
    if (b === gold.get(q.id)) rule += 1;
    const pair = new Set([o, b]);
    if (pair.size === 2) {
      known += 1;
      if (pair.has(ranked[0]!)) firstInPair += 1;
      if (pair.has(ranked[0]!) && pair.has(ranked[1]!)) firstTwoArePair += 1;
    }
    n += 1;
  }
}
for (const l of lambdas)
  console.log(
    `${task} base + ${l} x log(history count): accuracy ${(hits.get(l)! / n).toFixed(3)} (${n} questions)`,
  );
console.log(
  `${task} facets known on ${known} questions: base's first label is one of them ${(firstInPair / known).toFixed(3)}, its first two are both ${(firstTwoArePair / known).toFixed(3)}`,
);
console.log(
  `${task} history-count rule (facets known, no model): accuracy ${(countRule / n).toFixed(3)}; no-user rule ${(rule / n).toFixed(3)} (${n} questions, ${values.items} items)`,
);
e.dispose();
engine.dispose();
