/**
 * LaMP-1 answered by the references' own text rather than by the labels `[1]`/`[2]`: on the development seeds
 * (never the table's), each user's LoRA is trained as `runLamp` trains it (`SMALL_BASE_TRAINING`, on the pairs
 * `paper title: ... reference: <cited paper>`), and each question's two references are scored as continuations
 * of `paper title: <title> reference:` (sum and per-token mean of the log-probabilities, and the LoRA's gain over
 * the base, log p_user - log p_base), against today's label scoring. Prints accuracy per way.
 *
 *   pnpm bench:citation-probe [--seeds 101,102,103]
 */
import { parseArgs } from 'node:util';
import { type AdapterWeights, LAMP_TASKS, runLamp, SMALL_BASE_TRAINING, synthesize } from '@oppu/core';
import { createEngine, createRanker, shippedTaskAdapter } from '@oppu/node';

const { values } = parseArgs({ options: { seeds: { type: 'string', default: '101,102,103' } } });
const task = LAMP_TASKS.LaMP_1;
const engine = await createEngine({});
const shipped = await shippedTaskAdapter(engine, 'LaMP_1');
if (!shipped) throw new Error('no shipped task adapter for LaMP_1');
const e = await engine.mergeAdapter(shipped, 'LaMP_1-task');
const hits = new Map<string, number>();
const hit = (way: string, ok: boolean) => hits.set(way, (hits.get(way) ?? 0) + (ok ? 1 : 0));
let n = 0;
for (const seed of values.seeds!.split(',').map(Number)) {
  const data = synthesize({ task: 'LaMP_1', users: 8, items: 8, queries: 9, seed });
  const adapters = new Map<string, AdapterWeights>();
  const labels = await runLamp({
    task,
    questions: data.questions,
    method: 'oppu',
    engine: e,
    skipTaskAdaptation: true,
    ranker: createRanker(),
    seed,
    training: SMALL_BASE_TRAINING,
    onAdapter: (user, weights) => {
      adapters.set(user, weights);
    },
  });
  const gold = new Map(data.outputs.golds.map((g) => [g.id, g.output]));
  const byLabels = new Map(labels.predictions.golds.map((g) => [g.id, g.output]));
  const requests = data.questions.map((q) => {
    const c = task.parseInput(q.input) as { title: string; reference1: string; reference2: string };
    return { prompt: `paper title: ${c.title} reference:`, candidates: [c.reference1, c.reference2] };
  });
  const base = await e.model.scoreCandidates(requests);
  const own = await e.model.scoreCandidates(
    requests.map((r, i) => {
      const adapter = adapters.get(data.questions[i]!.user_id);
      return adapter ? { ...r, adapter } : r;
    }),
  );
  const pick = (v: readonly number[]) => (v[0]! >= v[1]! ? '[1]' : '[2]');
  const mean = (s: { logProbs: readonly number[]; tokens: readonly number[] }) =>
    s.logProbs.map((x, j) => x / s.tokens[j]!);
  data.questions.forEach((q, i) => {
    const g = gold.get(q.id);
    const [b, o] = [base[i]!, own[i]!];
    n += 1;
    hit('labels [1]/[2], user LoRA (today)', byLabels.get(q.id) === g);
    hit('reference text, base, sum', pick(b.logProbs) === g);
    hit('reference text, user LoRA, sum', pick(o.logProbs) === g);
    hit('reference text, base, mean', pick(mean(b)) === g);
    hit('reference text, user LoRA, mean', pick(mean(o)) === g);
    hit('reference text, LoRA gain', pick(o.logProbs.map((x, j) => x - b.logProbs[j]!)) === g);
    hit('always [1] (no-user rule)', g === '[1]');
  });
}
for (const [way, h] of hits)
  console.log(`LaMP_1 ${way.padEnd(36)} accuracy ${(h / n).toFixed(3)} (${n} questions)`);
e.dispose();
engine.dispose();
