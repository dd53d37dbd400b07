import { basename } from 'node:path';
import {
  LAMP_TASK_IDS,
  type LampTaskId,
  lampTaskId,
  OppuError,
  parseLampInput,
  streamQuestions,
} from '@oppu/core';
import { type CliCommand, optionValue, stringOption } from '../command.js';
import { progressBar } from '../progress.js';

/** The task whose input format the string matches, if exactly one does. */
function detectTask(input: string): LampTaskId | undefined {
  const matches = LAMP_TASK_IDS.filter((t) => {
    try {
      parseLampInput(t, input);
      return true;
    } catch {
      return false;
    }
  });
  return matches.length === 1 ? matches[0] : undefined;
}

const validate: CliCommand = {
  name: 'validate',
  summary:
    'check a LaMP questions file (structure, ids, task fields) while streaming it; prints one JSON line',
  options: {
    questions: {
      type: 'string',
      placeholder: 'Q.json',
      description: 'the questions file [{id, input, profile, user_id?}]',
    },
    task: {
      type: 'string',
      placeholder: 'LaMP_X',
      description:
        'check inputs and profile fields against this task (default: detected from the first input)',
    },
  },
  required: ['questions'],
  examples: ['oppu validate --questions data/dev_questions.json --task LaMP_4'],
  async run(values, context) {
    const path = context.path(stringOption(values, 'questions')!);
    const given = stringOption(values, 'task');
    let task: LampTaskId | undefined = given ? optionValue(() => lampTaskId(given, '--task')) : undefined;
    let detected = false;
    if (!task) {
      for await (const q of streamQuestions(path, { signal: context.signal })) {
        task = detectTask(q.input);
        detected = task !== undefined;
        break;
      }
    }
    const bar = progressBar(context, `validate ${basename(path)}`, ' bytes');
    let questions = 0;
    let profileItems = 0;
    const users = new Set<string>();
    try {
      for await (const q of streamQuestions(path, {
        task,
        signal: context.signal,
        onProgress: bar.onProgress,
      })) {
        questions++;
        profileItems += q.profile.length;
        if (q.user_id !== undefined) users.add(q.user_id);
      }
    } finally {
      bar.stop();
    }
    if (questions === 0) throw new OppuError('empty_questions', `${basename(path)}: has no questions`);
    context.out(
      JSON.stringify({
        file: basename(path),
        valid: true,
        task: task ?? null,
        taskDetected: detected,
        questions,
        profileItems,
        users: users.size || null,
      }),
    );
  },
};
export default validate;
