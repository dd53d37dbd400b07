import { join } from 'node:path';
import {
  baseline,
  lampTaskId,
  oracle,
  oraclePredictions,
  synthesize,
  writeFileAtomic,
  writeOutputs,
  writeQuestions,
} from '@oppu/core';
import { type CliCommand, CliUsageError, intOption, optionValue, stringOption } from '../command.js';
import { checkOutputFolder } from '../output-paths.js';
import { progressBar } from '../progress.js';

/** What `oppu synth` writes into --out. */
const SYNTH_FILES = ['questions.json', 'outputs.json', 'oracle.json', 'baseline.json', 'users.json'] as const;

const synth: CliCommand = {
  name: 'synth',
  summary: 'write synthetic LaMP data (questions.json, outputs.json) whose users have latent preferences',
  options: {
    task: {
      type: 'string',
      placeholder: 'LaMP_X',
      description: 'LaMP_1, LaMP_2M, LaMP_2N, LaMP_3, LaMP_4, LaMP_5, LaMP_6 or LaMP_7',
    },
    users: { type: 'string', placeholder: 'N', description: 'number of users' },
    items: {
      type: 'string',
      placeholder: 'M',
      description: 'typical history size (log-uniform in [M/2, 2M] per user)',
    },
    queries: { type: 'string', placeholder: 'Q', description: 'questions per user' },
    seed: { type: 'string', placeholder: 'S', description: 'random seed (same seed, same files)' },
    out: { type: 'string', placeholder: 'DIR', description: 'output folder' },
    shift: {
      type: 'string',
      placeholder: 'F',
      description: 'behaviour shift after this fraction of each history (0..1)',
    },
  },
  required: ['task', 'users', 'items', 'queries', 'seed', 'out'],
  examples: ['oppu synth --task LaMP_2M --users 20 --items 30 --queries 5 --seed 1 --out data/synth-2m'],
  async run(values, context) {
    const shiftRaw = stringOption(values, 'shift');
    const shift = shiftRaw === undefined ? undefined : Number(shiftRaw);
    if (shift !== undefined && !(shift > 0 && shift < 1)) {
      throw new CliUsageError(`--shift must be a fraction between 0 and 1 (got ${JSON.stringify(shiftRaw)})`);
    }
    const task = optionValue(() => lampTaskId(stringOption(values, 'task')!, '--task'));
    const users = intOption(values, 'users', 1);
    const items = intOption(values, 'items', 2);
    const queries = intOption(values, 'queries', 1);
    const seed = intOption(values, 'seed', 0);
    const outGiven = stringOption(values, 'out')!;
    const out = context.path(outGiven);
    await checkOutputFolder(out, '--out', outGiven, SYNTH_FILES);
    const bar = progressBar(context, 'synth', ' users');
    let data: ReturnType<typeof synthesize>;
    try {
      data = synthesize({
        task,
        users,
        items,
        queries,
        seed,
        shift,
        onProgress: bar.onProgress,
        signal: context.signal,
      });
    } finally {
      bar.stop();
    }
    await writeQuestions(join(out, 'questions.json'), data.questions);
    await writeOutputs(join(out, 'outputs.json'), data.outputs);
    await writeOutputs(join(out, 'oracle.json'), oraclePredictions(data, 'oracle'));
    await writeOutputs(join(out, 'baseline.json'), oraclePredictions(data, 'baseline'));
    await writeFileAtomic(join(out, 'users.json'), `${JSON.stringify(data.users, null, 1)}\n`);
    context.note(`wrote questions.json, outputs.json, oracle.json, baseline.json, users.json to ${out}`);
    context.out(
      JSON.stringify({
        task: data.task,
        out,
        users: data.users.length,
        questions: data.questions.length,
        profileItems: data.users.reduce((n, u) => n + u.historySize, 0),
        oracle: oracle(data),
        baseline: baseline(data),
      }),
    );
  },
};
export default synth;
