/**
 * How label tasks are best answered from their labels' scores, on the embedded model with each task's shipped
 * stage-1 adapter (tasks without one are skipped): synthetic development data (seed 101, one of lamp-table's
 * development seeds, never a table seed), every question's labels scored once (`scoreCandidates`), then
 *   - LaMP-1/2M/2N: accuracy and macro-F1 of `chooseCandidate` with normalization 'none' and 'per-token', and of
 *     free greedy generation (the answer before label scoring) with the share of answers that are labels;
 *   - LaMP-3: MAE and RMSE of rating 'argmax' and 'expected'.
 * `--k 1` puts the top BM25 history item of the question's own user in each prompt (as rag does).
 *
 *   pnpm bench:label-choice [--tasks LaMP_1,LaMP_2M,LaMP_2N,LaMP_3] [--users 50] [--queries 4] [--k 0] [--seed 101]
 */
import { parseArgs } from 'node:util';
import {
  chooseCandidate,
  classificationScores,
  cleanAnswer,
  LAMP_SAMPLING,
  LAMP_TASKS,
  type LampTaskId,
  lampTaskId,
  questionPrompt,
  regressionScores,
  synthesize,
} from '@oppu/core';
import { bm25Ranker, createEngine, shippedTaskAdapter } from '@oppu/node';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: 'LaMP_1,LaMP_2M,LaMP_2N,LaMP_3' },
    users: { type: 'string', default: '50' },
    queries: { type: 'string', default: '4' },
    k: { type: 'string', default: '0' },
    seed: { type: 'string', default: '101' },
  },
});
const k = Number(values.k);
const base = await createEngine({ onLog: () => {} });
const ranker = bm25Ranker();
const rows: Record<string, unknown>[] = [];
for (const name of values.tasks.split(',')) {
  const id: LampTaskId = lampTaskId(name, '--tasks');
  const task = LAMP_TASKS[id];
  const adapter = await shippedTaskAdapter(base, id);
  if (!adapter) {
    console.log(`${id}: no shipped task adapter for this base; skipped`);
    continue;
  }
  const engine = await base.mergeAdapter(adapter, `${id}-task`);
  const data = synthesize({
    task: id,
    users: Number(values.users),
    items: 40,
    queries: Number(values.queries),
    seed: Number(values.seed),
  });
  const golds = new Map(data.outputs.golds.map((g) => [g.id, g.output]));
  const g = data.questions.map((q) => golds.get(q.id)!);
  const prompts = data.questions.map((q) => questionPrompt(task, q.input, q.profile, { k, ranker }));
  const scores = [];
  const generated: string[] = [];
  for (let i = 0; i < prompts.length; i += 16) {
    const slice = prompts.slice(i, i + 16).map((prompt) => ({ prompt }));
    scores.push(
      ...(await engine.model.scoreCandidates(slice.map((r) => ({ ...r, candidates: task.labels })))),
    );
    const out = await engine.model.generate(slice, LAMP_SAMPLING[task.kind]);
    generated.push(...out.map((r) => cleanAnswer(r.text)));
  }
  const row: Record<string, unknown> = { task: id, questions: prompts.length, k };
  if (task.kind === 'regression') {
    for (const rating of ['argmax', 'expected'] as const) {
      const p = scores.map((s) => chooseCandidate(task.labels, s, { rating }).answer);
      const r = regressionScores(g, p);
      row[rating] = `MAE ${r.mae.toFixed(3)} RMSE ${r.rmse.toFixed(3)}`;
    }
    const r = regressionScores(g, generated);
    row.generate = `MAE ${r.mae.toFixed(3)} RMSE ${r.rmse.toFixed(3)}`;
  } else {
    for (const normalization of ['none', 'per-token'] as const) {
      const p = scores.map((s) => chooseCandidate(task.labels, s, { normalization }).answer);
      const c = classificationScores(task.labels, g, p);
      row[normalization] = `acc ${c.accuracy.toFixed(3)} F1 ${c.f1.toFixed(3)}`;
    }
    const c = classificationScores(task.labels, g, generated);
    row.generate = `acc ${c.accuracy.toFixed(3)} F1 ${c.f1.toFixed(3)}`;
  }
  row['generated labels'] = `${generated.filter((a) => task.labels.includes(a)).length}/${generated.length}`;
  rows.push(row);
  console.log(JSON.stringify(row));
  engine.dispose();
}
base.dispose();
console.log(`RESULT ${JSON.stringify(rows)}`);
