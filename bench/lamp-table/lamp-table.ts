/**
 * The paper's table on synthetic LaMP data: every method on every task type, plus OPPU's two analyses (users at
 * different activity levels, and a behaviour shift). Writes docs/results.md with the table, run times and an SVG
 * chart, and prints each row as it is measured.
 *
 *   pnpm bench:lamp-table                                # all tasks, the embedded tiny base model
 *   pnpm bench:lamp-table --tasks LaMP_2M,LaMP_3 --users 6 --items 8 --queries 2 --epochs 2 [--base DIR]
 *
 * The data generator is fixed by its seed and is never tuned to make a method win.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  LAMP_TASK_IDS,
  LAMP_TASKS,
  type LampQuestion,
  type LampScores,
  type LampTaskId,
  METHOD_NAMES,
  type MethodName,
  type PeftEngine,
  runLamp,
  scoreLamp,
  synthesize,
} from '@oppu/core';
import { adaptToTask, createEngine, createRanker, createSummarizer, syntheticTaskExamples } from '@oppu/node';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: LAMP_TASK_IDS.join(',') },
    users: { type: 'string', default: '6' },
    items: { type: 'string', default: '8' },
    queries: { type: 'string', default: '2' },
    epochs: { type: 'string', default: '2' },
    'task-steps': { type: 'string', default: '200' },
    lr: { type: 'string', default: '0.01' },
    base: { type: 'string' },
    seed: { type: 'string', default: '7' },
    out: { type: 'string', default: join(import.meta.dirname, '../../docs/results.md') },
    analyses: { type: 'string', default: 'LaMP_2M' },
  },
});
const tasks = values.tasks!.split(',') as LampTaskId[];
const users = Number(values.users);
const items = Number(values.items);
const queries = Number(values.queries);
const seed = Number(values.seed);
// OPPU's recipe (AdamW, wd 0.01, 10% warm-up, clip 0.3, LoRA r 8 / alpha 8 on q/v) with one change: the learning
// rate. OPPU's 1e-4 is for 7B models; a 4M-parameter base barely moves at 1e-4 in a few dozen steps.
const lr = Number(values.lr);
const training = { epochs: Number(values.epochs), batchSize: 4, maxLength: 768, learningRate: lr };
const taskSteps = Number(values['task-steps']);

const engine = await createEngine({
  ...(values.base ? { baseModelDir: values.base } : {}),
  onLog: (l) => console.error(l),
});
const ranker = createRanker();
const summarizer = createSummarizer();

/** The task's headline metric and whether higher is better. */
function headline(s: LampScores): { name: string; value: number; higherIsBetter: boolean } {
  if ('accuracy' in s) return { name: 'accuracy', value: s.accuracy, higherIsBetter: true };
  if ('MAE' in s) return { name: 'MAE', value: s.MAE, higherIsBetter: false };
  return { name: 'ROUGE-1', value: s['rouge-1'], higherIsBetter: true };
}
const fmt = (s: LampScores) =>
  'accuracy' in s
    ? `acc ${s.accuracy.toFixed(3)} / F1 ${s.f1.toFixed(3)}`
    : 'MAE' in s
      ? `MAE ${s.MAE.toFixed(3)} / RMSE ${s.RMSE.toFixed(3)}`
      : `R-1 ${s['rouge-1'].toFixed(3)} / R-L ${s['rouge-L'].toFixed(3)}`;

interface Row {
  task: LampTaskId;
  method: MethodName | 'oracle' | 'baseline';
  scores: LampScores;
  seconds: number;
}

/** Stage 1 once per task: a LoRA on a disjoint synthetic population's items and questions, merged into the base. */
const adapted = new Map<LampTaskId, PeftEngine>();
async function taskEngine(task: LampTaskId): Promise<PeftEngine> {
  let e = adapted.get(task);
  if (!e) {
    const t0 = performance.now();
    const dir = await mkdtemp(join(tmpdir(), `lamp-table-${task}-`));
    e = (
      await adaptToTask(engine, dir, {
        examples: syntheticTaskExamples(task, { users: 16, items, seed: seed + 1000 }),
        training: { maxSteps: taskSteps, learningRate: lr, batchSize: 4, maxLength: 768 },
      })
    ).engine;
    await rm(dir, { recursive: true, force: true });
    console.log(
      `${task.padEnd(8)} stage 1   ${taskSteps} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    adapted.set(task, e);
  }
  return e;
}

async function runMethods(
  task: LampTaskId,
  questions: readonly LampQuestion[],
  golds: { golds: { id: string; output: string }[] },
  methods: readonly MethodName[],
): Promise<
  Map<MethodName, { scores: LampScores; seconds: number; preds: { id: string; output: string }[] }>
> {
  const out = new Map();
  for (const method of methods) {
    const t0 = performance.now();
    const result = await runLamp({
      task: LAMP_TASKS[task],
      questions,
      method,
      engine: await taskEngine(task),
      skipTaskAdaptation: true,
      ranker,
      summarizer,
      training,
      seed,
    });
    const seconds = (performance.now() - t0) / 1000;
    const scores = scoreLamp(task, golds, result.predictions);
    console.log(`${task.padEnd(8)} ${method.padEnd(9)} ${fmt(scores).padEnd(30)} ${seconds.toFixed(1)} s`);
    out.set(method, { scores, seconds, preds: result.predictions.golds });
  }
  return out;
}

const rows: Row[] = [];
const started = performance.now();
for (const task of tasks) {
  const data = synthesize({ task, users, items, queries, seed });
  const results = await runMethods(task, data.questions, data.outputs, METHOD_NAMES);
  for (const [method, r] of results) rows.push({ task, method, scores: r.scores, seconds: r.seconds });
  const asPreds = (m: ReadonlyMap<string, string>) => ({
    golds: [...m].map(([id, output]) => ({ id, output })),
  });
  rows.push({
    task,
    method: 'oracle',
    scores: scoreLamp(task, data.outputs, asPreds(data.oracleAnswers)),
    seconds: 0,
  });
  rows.push({
    task,
    method: 'baseline',
    scores: scoreLamp(task, data.outputs, asPreds(data.baselineAnswers)),
    seconds: 0,
  });
}

// Analyses on the first analysis task: activity levels and behaviour shift.
const analysisTask = values.analyses as LampTaskId;
const activity: string[] = [];
const shift: string[] = [];
if (analysisTask && tasks.includes(analysisTask)) {
  const methods: MethodName[] = ['base', 'rag', 'oppu', 'oppu+rag'];
  const data = synthesize({ task: analysisTask, users: users * 2, items, queries, seed: seed + 1 });
  const results = await runMethods(analysisTask, data.questions, data.outputs, methods);
  const sizes = data.users.map((u) => u.historySize).sort((a, b) => a - b);
  const median = sizes[Math.floor(sizes.length / 2)]!;
  const groups = {
    [`low (history < ${median})`]: (n: number) => n < median,
    [`high (history >= ${median})`]: (n: number) => n >= median,
  };
  activity.push(`| users | ${methods.join(' | ')} |`, `|---|${methods.map(() => '---').join('|')}|`);
  for (const [label, inGroup] of Object.entries(groups)) {
    const ids = new Set(
      data.questions
        .filter((q) => inGroup(data.users.find((u) => u.userId === q.user_id)!.historySize))
        .map((q) => q.id),
    );
    const golds = { golds: data.outputs.golds.filter((g) => ids.has(g.id)) };
    const cells = methods.map((m) =>
      fmt(scoreLamp(analysisTask, golds, { golds: results.get(m)!.preds.filter((p) => ids.has(p.id)) })),
    );
    activity.push(`| ${label}, ${ids.size} questions | ${cells.join(' | ')} |`);
  }
  const shifted = synthesize({ task: analysisTask, users, items, queries, seed: seed + 2, shift: true });
  const shiftResults = await runMethods(analysisTask, shifted.questions, shifted.outputs, methods);
  shift.push(`| ${methods.join(' | ')} |`, `|${methods.map(() => '---').join('|')}|`);
  shift.push(`| ${methods.map((m) => fmt(shiftResults.get(m)!.scores)).join(' | ')} |`);
}
const totalMinutes = (performance.now() - started) / 60000;

// ---- docs/results.md
const methodCols: Row['method'][] = [...METHOD_NAMES, 'oracle', 'baseline'];
const table = [
  `| task | ${methodCols.join(' | ')} |`,
  `|---|${methodCols.map(() => '---').join('|')}|`,
  ...tasks.map((task) => {
    const cells = methodCols.map((m) => {
      const r = rows.find((x) => x.task === task && x.method === m)!;
      return `${fmt(r.scores)}${r.seconds ? ` (${r.seconds.toFixed(0)} s)` : ''}`;
    });
    return `| ${task} | ${cells.join(' | ')} |`;
  }),
].join('\n');

/** Grouped bars: per task, each method's headline metric (MAE drawn as 1 - MAE/4 so higher is better). */
function svg(): string {
  const W = 120 + tasks.length * 150;
  const H = 300;
  const colors = ['#888', '#4a90d9', '#7b61c4', '#e07b39', '#d94a4a', '#2e9e5b'];
  const bars: string[] = [];
  tasks.forEach((task, ti) => {
    METHOD_NAMES.forEach((m, mi) => {
      const r = rows.find((x) => x.task === task && x.method === m)!;
      const h = headline(r.scores);
      const v = h.higherIsBetter ? h.value : Math.max(0, 1 - h.value / 4);
      const x = 80 + ti * 150 + mi * 20;
      const bh = Math.max(1, v * 200);
      bars.push(
        `<rect x="${x}" y="${240 - bh}" width="16" height="${bh}" fill="${colors[mi]}"><title>${task} ${m}: ${h.name} ${h.value.toFixed(3)}</title></rect>`,
      );
    });
    bars.push(`<text x="${80 + ti * 150 + 55}" y="258" font-size="11" text-anchor="middle">${task}</text>`);
  });
  const legend = METHOD_NAMES.map(
    (m, i) =>
      `<rect x="${80 + i * 95}" y="275" width="10" height="10" fill="${colors[i]}"/><text x="${94 + i * 95}" y="284" font-size="11">${m}</text>`,
  ).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<line x1="70" y1="240" x2="${W - 20}" y2="240" stroke="#333"/><line x1="70" y1="40" x2="70" y2="240" stroke="#333"/>
<text x="20" y="44" font-size="10">1.0</text><text x="20" y="244" font-size="10">0.0</text>
${bars.join('\n')}
${legend}
</svg>`;
}
const svgPath = values.out!.replace(/\.md$/, '.svg');
await writeFile(svgPath, svg());

const info = engine.model.info;
const md = `# OPPU on synthetic LaMP data

Produced by \`pnpm bench:lamp-table ${process.argv.slice(2).join(' ')}\` (bench/lamp-table/lamp-table.ts) in
${totalMinutes.toFixed(1)} minutes on one 2-core machine, base model \`${info.name}\`
(${(info.parameters / 1e6).toFixed(2)}M parameters, backend ${'backend' in engine ? engine.backend : '?'}).
Data: \`synthesize({task, users: ${users}, items: ${items}, queries: ${queries}, seed: ${seed}})\` per task. Stage 1
(task adaptation, shared by all six methods of a task): a LoRA trained ${taskSteps} steps on a disjoint synthetic
population's history items and questions (\`syntheticTaskExamples\`, seed ${seed + 1000}), merged into the base.
Stage 2: OPPU's LoRA (r 8, alpha 8, q/v) and optimiser, ${training.epochs} epochs per user, learning rate ${lr}
(OPPU uses 1e-4 on 7B models; at 1e-4 the 4M-parameter base barely moves in a few dozen steps). Greedy decoding. \`oracle\` knows each user's latent
preferences; \`baseline\` is the generator's user-agnostic rule. Cells: the task's metrics (run time).

${table}

![methods by task](${svgPath.split('/').pop()})

Metric drawn: accuracy (LaMP-1, 2M, 2N), 1 - MAE/4 (LaMP-3), ROUGE-1 (LaMP-4..7).

## Users at different activity levels (${analysisTask})

${activity.join('\n')}

## Behaviour shift (${analysisTask}: preferences change after 70% of each history; every query follows the new ones)

${shift.join('\n')}

## Reading the table

See the notes below the table, written after the run, for where these numbers agree with the paper's shape
(personalized methods above \`base\`, \`oppu\` above \`rag\`/\`pag\`, \`oppu+rag\`/\`oppu+pag\` best) and where they
do not, and why.
`;
await writeFile(values.out!, md);
console.log(`wrote ${values.out} (${totalMinutes.toFixed(1)} min)`);
for (const e of adapted.values()) e.dispose();
engine.dispose();
