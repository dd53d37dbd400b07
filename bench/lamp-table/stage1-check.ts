/**
 * The shipped stage-1 task adapter of one task, merged into the base, against the no-user rule on development
 * data (seed 101, 60 users x 4 questions; never a table seed). Label tasks are answered by scoring the labels.
 *
 *   pnpm bench:stage1-check LaMP_2M
 *   pnpm bench:stage1-check LaMP_4 [repetitionPenalty noRepeatNgramSize [all|output]]   (generation options)
 */
import {
  chooseCandidate,
  LAMP_SAMPLING,
  labelChoiceDefaults,
  lampTask,
  lampTaskId,
  scoreLamp,
  synthesize,
} from '@oppu/core';
import { createEngine, shippedTaskAdapter } from '@oppu/node';

const [taskName, rp, nr, scope] = process.argv.slice(2);
const taskId = lampTaskId(taskName ?? '', 'task (first argument)');
const task = lampTask(taskId);
const engine = await createEngine({ onLog: () => {} });
const weights = await shippedTaskAdapter(engine, taskId);
if (!weights) throw new Error(`${taskId}: no task adapter ships for this base`);
const model = (await engine.mergeAdapter(weights)).model;
const data = synthesize({ task: taskId, users: 60, items: 8, queries: 4, seed: 101 });
const prompts = data.questions.map((q) => task.prompt(task.parseInput(q.input)));
const preds: { id: string; output: string }[] = [];
if (task.kind === 'generation') {
  for (let i = 0; i < prompts.length; i += 16) {
    const results = await model.generate(
      prompts.slice(i, i + 16).map((prompt) => ({ prompt })),
      {
        ...LAMP_SAMPLING.generation,
        ...(rp ? { repetitionPenalty: Number(rp) } : {}),
        ...(nr ? { noRepeatNgramSize: Number(nr) } : {}),
        ...(scope === 'all' || scope === 'output' ? { repetitionScope: scope } : {}),
      },
    );
    results.forEach((r, j) => {
      preds.push({ id: data.questions[i + j]!.id, output: r.text.trim() });
    });
  }
} else {
  const scores = await model.scoreCandidates(prompts.map((prompt) => ({ prompt, candidates: task.labels })));
  // The most probable label, as runLamp chooses it (the task's normalisation; ratings by argmax here).
  const choice = { ...labelChoiceDefaults(task), rating: 'argmax' as const };
  scores.forEach((s, i) => {
    preds.push({ id: data.questions[i]!.id, output: chooseCandidate(task.labels, s, choice).answer });
  });
}
const rule = data.outputs.golds.map((g) => ({ id: g.id, output: data.baselineAnswers.get(g.id)! }));
console.log(
  JSON.stringify({
    task: taskId,
    sampling:
      task.kind === 'generation'
        ? { rp: rp ?? 'default', nr: nr ?? 'default', scope: scope ?? 'default' }
        : 'labels scored',
    taskAdaptedBase: scoreLamp(taskId, data.outputs, { golds: preds }),
    noUserRule: scoreLamp(taskId, data.outputs, { golds: rule }),
  }),
);
engine.dispose();
