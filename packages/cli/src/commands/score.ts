import { basename } from 'node:path';
import { lampTaskId, outputsTask, readOutputs, scoreLamp } from '@oppu/core';
import { type CliCommand, CliUsageError, optionValue, stringOption } from '../command.js';

const score: CliCommand = {
  name: 'score',
  summary: 'score predictions against golds with the official LaMP metrics; prints one JSON line',
  options: {
    golds: {
      type: 'string',
      placeholder: 'G.json',
      description: 'the outputs file {task, golds:[{id, output}]}',
    },
    preds: { type: 'string', placeholder: 'P.json', description: 'the predictions file, same format' },
    task: {
      type: 'string',
      placeholder: 'LaMP_X',
      description: 'override the task named in the files (e.g. for "LaMP_2")',
    },
  },
  required: ['golds', 'preds'],
  examples: ['oppu score --golds data/outputs.json --preds runs/predictions.json'],
  async run(values, context) {
    const override = stringOption(values, 'task');
    const overrideTask = override ? optionValue(() => lampTaskId(override, '--task')) : undefined;
    const goldsPath = context.path(stringOption(values, 'golds')!);
    const predsPath = context.path(stringOption(values, 'preds')!);
    // Read together; when both are bad, the error about --golds wins every time (not whichever failed first).
    const [goldsRead, predsRead] = await Promise.allSettled([readOutputs(goldsPath), readOutputs(predsPath)]);
    if (goldsRead.status === 'rejected') throw goldsRead.reason;
    if (predsRead.status === 'rejected') throw predsRead.reason;
    const golds = goldsRead.value;
    const preds = predsRead.value;
    const task = overrideTask ?? outputsTask(golds, basename(goldsPath));
    if (!override && preds.task !== golds.task && lampTaskId(preds.task, basename(predsPath)) !== task) {
      throw new CliUsageError(
        `${basename(predsPath)} is for task "${preds.task}" but ${basename(goldsPath)} is for "${golds.task}"`,
      );
    }
    const scores = scoreLamp(task, golds, preds, { golds: basename(goldsPath), preds: basename(predsPath) });
    context.out(JSON.stringify(scores));
  },
};
export default score;
