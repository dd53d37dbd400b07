/**
 * The paper's table on synthetic LaMP data, with error bars: every method on every task over several seeds, the
 * user-agnostic rule and the oracle, and OPPU's analyses (activity levels, behaviour shift, history formats).
 * Regenerates docs/results.md (and results.svg); `--out F.json` writes the numbers.
 *
 *   pnpm bench:lamp-table                          # the table: 8 tasks x 3 seeds, the embedded base model
 *   pnpm bench:lamp-table --out results.json       # ... and the numbers as JSON
 *   pnpm bench:lamp-table --mode search            # the per-user training search on the development seeds
 *   pnpm bench:lamp-table --tasks LaMP_2M --seeds 11 --users 6 --no-docs   # a quick look
 *   pnpm bench:lamp-table --tasks LaMP_2M --seeds 101,102,103 --methods base,oppu --studies none --no-docs
 *
 * Stage 1 is the task adapter shipped with the base (`@oppu/model-tiny/task-adapters`, trained on a synthetic
 * population no user here comes from); a base without one gets stage 1 trained here on such a population. The
 * data generator is fixed by its seed and is never tuned to make a method win; the search runs on development
 * seeds that the table never uses.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  LAMP_TASK_FACTS,
  LAMP_TASK_IDS,
  LAMP_TASKS,
  type LampQuestion,
  type LampScores,
  type LampTaskId,
  type LoraConfig,
  METHOD_NAMES,
  type MethodName,
  OPPU_LORA,
  OPPU_TRAINING,
  type PeftEngine,
  ratingValue,
  rouge1,
  runLamp,
  SMALL_BASE_TRAINING,
  type SynthResult,
  scoreLamp,
  synthesize,
  type TrainingConfig,
  trainTaskAdapter,
} from '@oppu/core';
import {
  createEngine,
  createRanker,
  createSummarizer,
  shippedTaskAdapter,
  syntheticTaskExamples,
} from '@oppu/node';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'table' },
    tasks: { type: 'string', default: LAMP_TASK_IDS.join(',') },
    methods: { type: 'string', default: METHOD_NAMES.join(',') },
    seeds: { type: 'string' },
    users: { type: 'string', default: '8' },
    items: { type: 'string', default: '8' },
    queries: { type: 'string', default: '9' },
    recipe: { type: 'string', default: 'small' },
    lr: { type: 'string' },
    epochs: { type: 'string' },
    targets: { type: 'string' },
    grid: { type: 'string', default: '1e-4:2,1e-3:6,3e-3:4,3e-3:6,1e-2:2,1e-2:4,1e-2:6' },
    studies: { type: 'string', default: 'activity,shift,formats' },
    base: { type: 'string' },
    out: { type: 'string' },
    docs: { type: 'string', default: join(import.meta.dirname, '../../docs/results.md') },
    'no-docs': { type: 'boolean', default: false },
  },
});
const search = values.mode === 'search';
const tasks = values.tasks!.split(',') as LampTaskId[];
/** `--methods base,oppu`: a quick look at some methods (the docs and the goals want them all). */
const tableMethods = values.methods!.split(',') as MethodName[];
for (const m of tableMethods) {
  if (!METHOD_NAMES.includes(m)) throw new Error(`--methods: ${m} is not one of ${METHOD_NAMES.join(', ')}`);
}
if (!tableMethods.includes('base') || !tableMethods.some((m) => m.startsWith('oppu'))) {
  throw new Error('--methods: list base and at least one oppu method (the goals compare them)');
}
if (tableMethods.length < METHOD_NAMES.length && !values['no-docs'] && values.mode !== 'search') {
  throw new Error('--methods: docs/results.md shows every method; add --no-docs for a subset');
}
/** Table seeds and development seeds never overlap; neither is a stage-1 population (90_417 + task). */
const seeds = (values.seeds ?? (search ? '101,102' : '11,12,13')).split(',').map(Number);
const users = Number(values.users);
const items = Number(values.items);
const queries = Number(values.queries);
const baseRecipe: TrainingConfig = values.recipe === 'paper' ? OPPU_TRAINING : SMALL_BASE_TRAINING;
const training: Partial<TrainingConfig> = {
  ...baseRecipe,
  ...(values.lr ? { learningRate: Number(values.lr) } : {}),
  ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
};
/** `--targets q_proj,v_proj,o_proj`: the per-user LoRA's modules (default OPPU's q/v). */
const peft: LoraConfig | undefined = values.targets
  ? { ...OPPU_LORA, targetModules: values.targets.split(',') }
  : undefined;
const started = performance.now();
const engine = await createEngine({
  ...(values.base ? { baseModelDir: values.base } : {}),
  onLog: (l) => console.error(l),
});
const ranker = createRanker();
const summarizer = createSummarizer();

// ---- metrics per question (the task's primary metric, higher is better), as the official scores aggregate them

/** The task's primary metric, higher better: accuracy (1, 2M, 2N), 1 - MAE/4 (3), ROUGE-1 (4-7). */
function primaryName(task: LampTaskId): string {
  const kind = LAMP_TASK_FACTS[task].kind;
  return kind === 'classification' ? 'accuracy' : kind === 'regression' ? '1 - MAE/4' : 'ROUGE-1';
}
function perQuestion(task: LampTaskId, gold: string, pred: string): number {
  const kind = LAMP_TASK_FACTS[task].kind;
  if (kind === 'classification') return gold.trim() === pred.trim() ? 1 : 0;
  if (kind === 'regression') {
    const g = Number(gold);
    return 1 - Math.abs(ratingValue(pred, g) - g) / 4;
  }
  return rouge1(gold, pred).fmeasure;
}
function primary(_task: LampTaskId, s: LampScores): number {
  if ('accuracy' in s) return s.accuracy;
  if ('MAE' in s) return 1 - s.MAE / 4;
  return s['rouge-1'];
}
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
function stderr(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1) / xs.length);
}
const fmtScores = (s: LampScores) =>
  'accuracy' in s
    ? `acc ${s.accuracy.toFixed(3)} / F1 ${s.f1.toFixed(3)}`
    : 'MAE' in s
      ? `MAE ${s.MAE.toFixed(3)} / RMSE ${s.RMSE.toFixed(3)}`
      : `R-1 ${s['rouge-1'].toFixed(3)} / R-L ${s['rouge-L'].toFixed(3)}`;

// ---- stage 1: the shipped task adapter, merged once per task

async function taskEngine(task: LampTaskId): Promise<{ engine: PeftEngine; stage1: string }> {
  const shipped = await shippedTaskAdapter(engine, task, values.base);
  if (shipped) return { engine: await engine.mergeAdapter(shipped, `${task}-task`), stage1: 'shipped' };
  const t0 = performance.now();
  const population = 90_417 + LAMP_TASK_IDS.indexOf(task);
  const { weights } = await trainTaskAdapter(engine, syntheticTaskExamples(task, { seed: population }), {
    onProgress: (e) => {
      if (e.done % 100 === 0) console.error(`${task} stage 1: step ${e.done}/${e.total}`);
    },
  });
  console.error(`${task} stage 1 trained in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return {
    engine: await engine.mergeAdapter(weights, `${task}-task`),
    stage1: `trained (seed ${population})`,
  };
}

interface MethodRun {
  preds: Map<string, string>;
  seconds: number;
}
async function runMethod(
  task: LampTaskId,
  e: PeftEngine,
  questions: readonly LampQuestion[],
  method: MethodName,
  seed: number,
  train: Partial<TrainingConfig> = training,
): Promise<MethodRun> {
  const t0 = performance.now();
  const result = await runLamp({
    task: LAMP_TASKS[task],
    questions,
    method,
    engine: e,
    skipTaskAdaptation: true,
    ranker,
    summarizer,
    training: { ...train, seed },
    ...(peft ? { peft } : {}),
    seed,
  });
  return {
    preds: new Map(result.predictions.golds.map((g) => [g.id, g.output])),
    seconds: (performance.now() - t0) / 1000,
  };
}

function scoresOf(task: LampTaskId, data: SynthResult, preds: ReadonlyMap<string, string>): LampScores {
  return scoreLamp(task, data.outputs, {
    golds: data.outputs.golds.map((g) => ({ id: g.id, output: preds.get(g.id)! })),
  });
}

const synth = (task: LampTaskId, seed: number, extra: { shift?: boolean } = {}) =>
  synthesize({ task, users, items, queries, seed, ...extra });

interface SearchRun {
  command: string;
  seeds: number[];
  users: number;
  items: number;
  queries: number;
  minutes: number;
  rows: {
    task: LampTaskId;
    lr: number;
    epochs: number;
    batch?: number;
    base: number;
    oppu: number;
    se: number;
  }[];
}
/** dev-search.json: `{runs: [...]}`; an older file held one run at the top level. */
function searchRuns(text: string): SearchRun[] {
  const j = JSON.parse(text);
  return Array.isArray(j.runs) ? j.runs : [j];
}

// ---- mode search: per-user training settings on the development seeds

if (search) {
  // lr:epochs, or lr:epochs:batch (examples per step; the recipe's otherwise).
  const grid = values.grid!.split(',').map((g) => {
    const [lr, epochs, batch] = g.split(':').map(Number);
    return { learningRate: lr!, epochs: epochs!, ...(batch ? { batchSize: batch } : {}) };
  });
  const rows: SearchRun['rows'] = [];
  for (const task of tasks) {
    const { engine: e } = await taskEngine(task);
    const datas = seeds.map((s) => synth(task, s));
    const basePer: number[] = [];
    for (const [i, data] of datas.entries()) {
      const r = await runMethod(task, e, data.questions, 'base', seeds[i]!);
      for (const g of data.outputs.golds) basePer.push(perQuestion(task, g.output, r.preds.get(g.id)!));
    }
    for (const cfg of grid) {
      const diffs: number[] = [];
      const per: number[] = [];
      const t0 = performance.now();
      for (const [i, data] of datas.entries()) {
        const r = await runMethod(task, e, data.questions, 'oppu', seeds[i]!, { ...training, ...cfg });
        for (const g of data.outputs.golds) per.push(perQuestion(task, g.output, r.preds.get(g.id)!));
      }
      for (const [j, v] of per.entries()) diffs.push(v - basePer[j]!);
      rows.push({
        task,
        lr: cfg.learningRate,
        epochs: cfg.epochs,
        ...(cfg.batchSize ? { batch: cfg.batchSize } : {}),
        base: mean(basePer),
        oppu: mean(per),
        se: stderr(diffs),
      });
      console.log(
        `${task.padEnd(8)} lr ${cfg.learningRate} epochs ${cfg.epochs}${cfg.batchSize ? ` batch ${cfg.batchSize}` : ''}: base ${mean(basePer).toFixed(3)} oppu ${mean(per).toFixed(3)} (diff ${mean(diffs).toFixed(3)} +- ${stderr(diffs).toFixed(3)}) ${((performance.now() - t0) / 1000).toFixed(0)} s`,
      );
    }
    e.dispose();
  }
  const out = {
    command: `pnpm bench:lamp-table ${process.argv.slice(2).join(' ')}`,
    seeds,
    users,
    items,
    queries,
    minutes: (performance.now() - started) / 60000,
    rows,
  };
  // Every search is kept (a later one on other tasks must not erase the evidence for an earlier choice); a
  // rerun of the same command replaces its own entry.
  const searchFile = join(import.meta.dirname, 'dev-search.json');
  const previous = await readFile(searchFile, 'utf8').then(searchRuns, () => []);
  const runs = [...previous.filter((r) => r.command !== out.command), out];
  await writeFile(searchFile, `${JSON.stringify({ runs }, null, 2)}\n`);
  console.log(`wrote bench/lamp-table/dev-search.json (${out.minutes.toFixed(1)} min)`);
  engine.dispose();
  process.exit(0);
}

// ---- mode table

type Column = MethodName | 'noUserRule' | 'oracle';
interface Cell {
  perSeed: number[];
  perQuestion: Map<string, number>;
  pooled: LampScores;
  seconds: number;
}
const results = new Map<LampTaskId, Map<Column, Cell>>();
const stage1Of = new Map<LampTaskId, string>();
/** Questions of each task over all seeds, with the history size of their user (for the activity study). */
const historySize = new Map<string, number>();
const allData = new Map<LampTaskId, SynthResult[]>();
/** LaMP_2M's task-adapted engine, kept for the studies. */
let studyEngine: PeftEngine | undefined;

for (const task of tasks) {
  const { engine: e, stage1 } = await taskEngine(task);
  stage1Of.set(task, stage1);
  const datas = seeds.map((s) => synth(task, s));
  allData.set(task, datas);
  const cells = new Map<Column, Cell>();
  const pooledGolds = datas.flatMap((d) => d.outputs.golds);
  const addCell = (column: Column, perSeedPreds: ReadonlyMap<string, string>[], seconds: number) => {
    const perSeed = perSeedPreds.map((p, i) => primary(task, scoresOf(task, datas[i]!, p)));
    const all = new Map(perSeedPreds.flatMap((p) => [...p]));
    const pq = new Map(pooledGolds.map((g) => [g.id, perQuestion(task, g.output, all.get(g.id)!)]));
    const pooled = scoreLamp(
      task,
      { golds: pooledGolds },
      {
        golds: pooledGolds.map((g) => ({ id: g.id, output: all.get(g.id)! })),
      },
    );
    cells.set(column, { perSeed, perQuestion: pq, pooled, seconds });
    const m = mean(perSeed);
    console.log(
      `${task.padEnd(8)} ${column.padEnd(10)} ${m.toFixed(3)} +- ${stderr(perSeed).toFixed(3)}  ${fmtScores(pooled).padEnd(30)} ${seconds.toFixed(0)} s`,
    );
  };
  for (const d of datas) {
    for (const q of d.questions) {
      historySize.set(q.id, d.users.find((u) => u.userId === q.user_id)!.historySize);
    }
  }
  for (const method of tableMethods) {
    const runs: MethodRun[] = [];
    for (const [i, data] of datas.entries())
      runs.push(await runMethod(task, e, data.questions, method, seeds[i]!));
    addCell(
      method,
      runs.map((r) => r.preds),
      runs.reduce((a, r) => a + r.seconds, 0),
    );
  }
  addCell(
    'noUserRule',
    datas.map((d) => d.baselineAnswers),
    0,
  );
  addCell(
    'oracle',
    datas.map((d) => d.oracleAnswers),
    0,
  );
  results.set(task, cells);
  if (task !== 'LaMP_2M') e.dispose();
  else studyEngine = e;
}

// ---- studies on LaMP_2M

const studies = new Set(values.studies!.split(',').filter(Boolean));
const STUDY_TASK: LampTaskId = 'LaMP_2M';
const studyMethods: MethodName[] = ['base', 'rag', 'oppu', 'oppu+rag'];
const goalsOut: Record<string, unknown> = {};

function paired(task: LampTaskId, a: Column, b: Column, ids?: ReadonlySet<string>) {
  const ca = results.get(task)!.get(a)!.perQuestion;
  const cb = results.get(task)!.get(b)!.perQuestion;
  const diffs = [...ca.keys()].filter((id) => !ids || ids.has(id)).map((id) => ca.get(id)! - cb.get(id)!);
  return { diff: mean(diffs), se: stderr(diffs), n: diffs.length };
}

const activity: string[] = [];
if (studies.has('activity') && results.has(STUDY_TASK)) {
  const ids = [...results.get(STUDY_TASK)!.get('base')!.perQuestion.keys()];
  const sizes = ids.map((id) => historySize.get(id)!).sort((a, b) => a - b);
  const median = sizes[Math.floor(sizes.length / 2)]!;
  activity.push(
    `| users | questions | ${studyMethods.join(' | ')} |`,
    `|---|---|${studyMethods.map(() => '---').join('|')}|`,
  );
  for (const [label, pick] of [
    [`low (history < ${median} items)`, (n: number) => n < median],
    [`high (history >= ${median} items)`, (n: number) => n >= median],
  ] as const) {
    const group = new Set(ids.filter((id) => pick(historySize.get(id)!)));
    const cells = studyMethods.map((m) => {
      const pq = results.get(STUDY_TASK)!.get(m)!.perQuestion;
      const v = [...group].map((id) => pq.get(id)!);
      return `${mean(v).toFixed(3)} +- ${stderr(v).toFixed(3)}`;
    });
    activity.push(`| ${label} | ${group.size} | ${cells.join(' | ')} |`);
  }
}

const shiftRows: string[] = [];
const formatRows: string[] = [];
if (studyEngine && (studies.has('shift') || studies.has('formats'))) {
  const e = studyEngine;
  const evalMethods = async (datas: SynthResult[], methods: MethodName[]) => {
    const out = new Map<MethodName, number[]>();
    for (const m of methods) {
      const per: number[] = [];
      for (const [i, d] of datas.entries()) {
        const r = await runMethod(STUDY_TASK, e, d.questions, m, seeds[i]!);
        for (const g of d.outputs.golds) per.push(perQuestion(STUDY_TASK, g.output, r.preds.get(g.id)!));
      }
      out.set(m, per);
    }
    return out;
  };
  if (studies.has('shift')) {
    const shifted = [synth(STUDY_TASK, 21, { shift: true })];
    const r = await evalMethods(shifted, studyMethods);
    shiftRows.push(`| ${studyMethods.join(' | ')} |`, `|${studyMethods.map(() => '---').join('|')}|`);
    shiftRows.push(
      `| ${studyMethods.map((m) => `${mean(r.get(m)!).toFixed(3)} +- ${stderr(r.get(m)!).toFixed(3)}`).join(' | ')} |`,
    );
    console.log(`shift: ${shiftRows.at(-1)}`);
  }
  if (studies.has('formats')) {
    // The same users (the table's first seed), their history items' text rendered three ways; questions unchanged.
    const formats: Record<string, (text: string) => string> = {
      sentences: (t) => t,
      bullets: (t) =>
        t
          .split(/(?<=[.!?])\s+/)
          .map((s) => `- ${s}`)
          .join('\n'),
      json: (t) => JSON.stringify({ sentences: t.split(/(?<=[.!?])\s+/) }),
    };
    const base = allData.get(STUDY_TASK)?.[0] ?? synth(STUDY_TASK, seeds[0]!);
    const methods: MethodName[] = ['rag', 'oppu', 'oppu+rag'];
    formatRows.push(
      `| history format | ${methods.join(' | ')} |`,
      `|---|${methods.map(() => '---').join('|')}|`,
    );
    for (const [name, render] of Object.entries(formats)) {
      const data: SynthResult = {
        ...base,
        questions: base.questions.map((q) => ({
          ...q,
          profile: q.profile.map((it) => ({ ...it, description: render(String(it.description)) })),
        })),
      };
      const r = await evalMethods([data], methods);
      formatRows.push(
        `| ${name} | ${methods.map((m) => `${mean(r.get(m)!).toFixed(3)} +- ${stderr(r.get(m)!).toFixed(3)}`).join(' | ')} |`,
      );
      console.log(`format ${formatRows.at(-1)}`);
    }
  }
  e.dispose();
}

// ---- goals, JSON, docs

const minutes = (performance.now() - started) / 60000;
const json: { tasks: Record<string, unknown> } = { tasks: {} };
const columns: Column[] = [...METHOD_NAMES, 'noUserRule', 'oracle'];
const score = (c: Cell) => ({ mean: mean(c.perSeed), stderr: stderr(c.perSeed) });
const goalLines: string[] = [];
let adaptedOk = 0;
let aboveBase = 0;
let above2se = 0;
const gapClosed: number[] = [];
for (const [task, cells] of results) {
  const methods: Record<string, unknown> = {};
  for (const m of tableMethods) {
    const c = cells.get(m)!;
    methods[m] = {
      score: score(c),
      pooled: c.pooled,
      seconds: c.seconds,
      vsBase: m === 'base' ? undefined : paired(task, m, 'base'),
    };
  }
  json.tasks[task] = {
    metric: primaryName(task),
    stage1: stage1Of.get(task),
    questions: cells.get('base')!.perQuestion.size,
    methods,
    noUserRule: { score: score(cells.get('noUserRule')!), pooled: cells.get('noUserRule')!.pooled },
    oracle: { score: score(cells.get('oracle')!), pooled: cells.get('oracle')!.pooled },
  };
  const base = mean(cells.get('base')!.perSeed);
  const rule = mean(cells.get('noUserRule')!.perSeed);
  const oracle = mean(cells.get('oracle')!.perSeed);
  const best = (['oppu', 'oppu+rag', 'oppu+pag'] as const)
    .filter((m) => cells.has(m))
    .map((m) => ({ m, v: mean(cells.get(m)!.perSeed), p: paired(task, m, 'base') }))
    .sort((a, b) => b.v - a.v)[0]!;
  if (base >= 0.9 * rule) adaptedOk++;
  if (best.v > base) aboveBase++;
  if (best.p.diff > 2 * best.p.se) above2se++;
  gapClosed.push(oracle > rule ? (best.v - rule) / (oracle - rule) : 0);
  goalLines.push(
    `| ${task} | ${base.toFixed(3)} | ${rule.toFixed(3)} | ${(base / rule).toFixed(2)}x | ${best.m} ${best.v.toFixed(3)} | ${best.p.diff >= 0 ? '+' : ''}${best.p.diff.toFixed(3)} +- ${best.p.se.toFixed(3)} | ${oracle.toFixed(3)} | ${(gapClosed.at(-1)! * 100).toFixed(0)}% |`,
  );
}
const n = results.size;
Object.assign(goalsOut, {
  adaptedBaseAtLeast09xRule: `${adaptedOk}/${n}`,
  bestOppuAboveBase: `${aboveBase}/${n}`,
  bestOppuAboveBaseBy2se: `${above2se}/${n}`,
  meanGapClosed: mean(gapClosed),
});
if (values.out) {
  await writeFile(
    values.out,
    `${JSON.stringify({ ...json, goals: goalsOut, seeds, users, items, queries, training, minutes }, null, 2)}\n`,
  );
  console.log(`wrote ${values.out}`);
}
console.log(`goals: ${JSON.stringify(goalsOut)}`);

if (!values['no-docs']) {
  const table = [
    `| task | ${columns.join(' | ')} |`,
    `|---|${columns.map(() => '---').join('|')}|`,
    ...[...results].map(([task, cells]) => {
      const row = columns.map((m) => {
        const c = cells.get(m)!;
        return `${mean(c.perSeed).toFixed(3)} +- ${stderr(c.perSeed).toFixed(3)}`;
      });
      return `| ${task} (${primaryName(task)}) | ${row.join(' | ')} |`;
    }),
  ].join('\n');
  const pooledTable = [
    `| task | ${columns.join(' | ')} |`,
    `|---|${columns.map(() => '---').join('|')}|`,
    ...[...results].map(
      ([task, cells]) => `| ${task} | ${columns.map((m) => fmtScores(cells.get(m)!.pooled)).join(' | ')} |`,
    ),
  ].join('\n');
  let search = '';
  try {
    const runs = searchRuns(await readFile(join(import.meta.dirname, 'dev-search.json'), 'utf8'));
    search = [
      "Cells: the task's primary metric of `oppu` (per-user LoRA, no retrieval) against `base`, with the paired difference and its standard error over questions.",
      ...runs.flatMap((s) => [
        '',
        `Command: \`${s.command}\` (${s.minutes.toFixed(1)} min; development seeds ${s.seeds.join(', ')}, ${s.users} users x ${s.items} items x ${s.queries} questions per seed, never the table's seeds).`,
        '',
        '| task | lr | epochs | batch | base | oppu | oppu - base |',
        '|---|---|---|---|---|---|---|',
        ...s.rows.map(
          (r) =>
            `| ${r.task} | ${r.lr} | ${r.epochs} | ${r.batch ?? training.batchSize} | ${r.base.toFixed(3)} | ${r.oppu.toFixed(3)} | ${(r.oppu - r.base).toFixed(3)} +- ${r.se.toFixed(3)} |`,
        ),
      ]),
    ].join('\n');
  } catch {
    search = 'No search results yet: run `pnpm bench:lamp-table --mode search`.';
  }
  const svgPath = values.docs!.replace(/\.md$/, '.svg');
  await writeFile(svgPath, svg());
  let notes = '';
  try {
    const old = await readFile(values.docs!, 'utf8');
    const at = old.indexOf('<!-- notes -->');
    if (at >= 0) notes = old.slice(at);
  } catch {}
  const info = engine.model.info;
  const text = `# OPPU on synthetic LaMP data

Produced by \`pnpm bench:lamp-table ${process.argv.slice(2).join(' ')}\` (bench/lamp-table/lamp-table.ts) in
${minutes.toFixed(1)} minutes on one 2-core machine; base model \`${info.name}\` (${(info.parameters / 1e6).toFixed(2)}M
parameters). Data: \`synthesize({task, users: ${users}, items: ${items}, queries: ${queries}, seed})\` for seeds
${seeds.join(', ')}: ${seeds.length * users * queries} questions per task. Stage 1: ${[...new Set(stage1Of.values())].join(', ')} task adapter per task
(seeds in packages/model-tiny/MODEL_CARD.md), shared by the six methods. Stage 2: a fresh LoRA per user (r 8, alpha 8,
dropout 0.05, q/v), AdamW wd ${training.weightDecay}, ${(training.warmupRatio ?? 0) * 100}% warm-up, clip ${training.maxGradNorm},
learning rate ${training.learningRate}, ${training.epochs} epochs (chosen on development seeds, below; OPPU's own
settings: \`--recipe paper\`). Label tasks are answered by scoring each label; generation is greedy.
\`noUserRule\`: the generator's user-agnostic rule; \`oracle\`: knows each user's latent preferences.

Cells: the task's primary metric (higher is better), mean +- standard error over the ${seeds.length} seeds.

${table}

![methods by task](${svgPath.split('/').pop()})

All metrics on all questions pooled:

${pooledTable}

## Goals

| task | base | rule | base/rule | best OPPU | best - base (paired, +- SE) | oracle | rule-to-oracle gap closed |
|---|---|---|---|---|---|---|---|
${goalLines.join('\n')}

Task-adapted base at least 0.9x the rule: ${adaptedOk}/${n}; best OPPU variant above base: ${aboveBase}/${n}, by more
than 2 standard errors: ${above2se}/${n}; rule-to-oracle gap closed, mean over tasks: ${(mean(gapClosed) * 100).toFixed(0)}%.

## Users at different activity levels (${STUDY_TASK}, the table's questions)

${activity.join('\n') || 'not run'}

## Behaviour shift (${STUDY_TASK}, seed 21: preferences change after 70% of each history; every query follows the new ones)

${shiftRows.join('\n') || 'not run'}

## History formats (${STUDY_TASK}, seed ${seeds[0]}: the same users, their history items' text rendered three ways)

${formatRows.join('\n') || 'not run'}

## Per-user training settings for the small base (the search)

${search}

${notes}`;
  await writeFile(values.docs!, text.endsWith('\n') ? text : `${text}\n`);
  console.log(`wrote ${values.docs} and ${svgPath} (${minutes.toFixed(1)} min)`);
}
engine.dispose();

/** Grouped bars: per task, each method's primary metric with its standard error. */
function svg(): string {
  const list = [...results];
  const W = 120 + list.length * 170;
  const H = 300;
  const cols: Column[] = [...METHOD_NAMES, 'noUserRule'];
  const colors = ['#888', '#4a90d9', '#7b61c4', '#e07b39', '#d94a4a', '#2e9e5b', '#222'];
  const bars: string[] = [];
  list.forEach(([task, cells], ti) => {
    cols.forEach((m, mi) => {
      const c = cells.get(m)!;
      const v = Math.max(0, mean(c.perSeed));
      const se = stderr(c.perSeed);
      const x = 80 + ti * 170 + mi * 20;
      const bh = Math.max(1, v * 200);
      bars.push(
        `<rect x="${x}" y="${240 - bh}" width="16" height="${bh}" fill="${colors[mi]}"><title>${task} ${m}: ${v.toFixed(3)} +- ${se.toFixed(3)}</title></rect>`,
        `<line x1="${x + 8}" x2="${x + 8}" y1="${240 - (v + se) * 200}" y2="${240 - Math.max(0, v - se) * 200}" stroke="#000"/>`,
      );
    });
    bars.push(`<text x="${80 + ti * 170 + 65}" y="258" font-size="11" text-anchor="middle">${task}</text>`);
  });
  const legend = cols
    .map(
      (m, i) =>
        `<rect x="${80 + i * 95}" y="275" width="10" height="10" fill="${colors[i]}"/><text x="${94 + i * 95}" y="284" font-size="11">${m}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<line x1="70" y1="240" x2="${W - 20}" y2="240" stroke="#333"/><line x1="70" y1="40" x2="70" y2="240" stroke="#333"/>
<text x="20" y="44" font-size="10">1.0</text><text x="20" y="244" font-size="10">0.0</text>
${bars.join('\n')}
${legend}
</svg>
`;
}
