import {
  lampTask,
  lampTaskId,
  METHODS,
  methodName,
  OPPU_TRAINING,
  readOutputs,
  readQuestions,
  runLamp,
  SMALL_BASE_TRAINING,
  type TrainingConfig,
  writeOutputs,
} from '@oppu/core';
import { createEngine, createRanker, createSummarizer, peftMethods, shippedTaskAdapter } from '@oppu/node';
import { type CliCommand, CliUsageError, optionValue, stringOption } from '../command.js';
import { checkOutputFile } from '../output-paths.js';
import { peftOption } from '../peft-option.js';
import { progressBar } from '../progress.js';

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new CliUsageError(`${flag} must be a non-negative integer, got "${value}"`);
  return n;
}

const run: CliCommand = {
  name: 'run',
  summary: 'run an OPPU method on a LaMP questions file and write predictions in the LaMP outputs format',
  options: {
    task: {
      type: 'string',
      placeholder: 'LaMP_X',
      description: 'LaMP_1, LaMP_2M, LaMP_2N, LaMP_3, LaMP_4, LaMP_5, LaMP_6 or LaMP_7',
    },
    questions: {
      type: 'string',
      placeholder: 'Q.json',
      description: "the questions file (each user's history is their profile)",
    },
    method: {
      type: 'string',
      placeholder: 'name',
      description: 'base, rag, pag, oppu, oppu+rag or oppu+pag',
    },
    k: { type: 'string', placeholder: 'N', description: 'retrieved history items per prompt (default 1)' },
    peft: {
      type: 'string',
      placeholder: 'name',
      description:
        'the per-user PEFT method, any the engine registers (shipped: lora, ia3, prompt; default lora: r 8, alpha 8, q/v)',
    },
    'task-train': {
      type: 'string',
      placeholder: 'TQ.json',
      description:
        'stage-1 questions of users other than the targets (default: the task adapter shipped with the base, if any)',
    },
    'task-train-outputs': { type: 'string', placeholder: 'TG.json', description: 'their gold outputs' },
    base: {
      type: 'string',
      placeholder: 'DIR',
      description: 'base model folder (HF layout); default: the embedded tiny model',
    },
    seed: {
      type: 'string',
      placeholder: 'S',
      description: 'seed for data order, dropout and sampling (default 42)',
    },
    recipe: {
      type: 'string',
      placeholder: 'small|paper',
      description:
        "per-user training: 'small' (lr 1e-2, 4 epochs, examples cut to 512 tokens, chosen for the embedded model; its default) or 'paper' (OPPU's lr 1e-4, 2 epochs; the default with --base)",
    },
    lr: { type: 'string', placeholder: 'X', description: 'per-user learning rate (overrides the recipe)' },
    epochs: {
      type: 'string',
      placeholder: 'N',
      description: 'training epochs per adapter (overrides the recipe)',
    },
    'max-steps': {
      type: 'string',
      placeholder: 'N',
      description: 'cap on training steps per adapter (quick runs)',
    },
    out: { type: 'string', placeholder: 'PREDS.json', description: 'where to write the predictions' },
  },
  required: ['task', 'questions', 'method', 'out'],
  examples: [
    'oppu run --task LaMP_2M --questions dev_questions.json --method oppu+rag --k 1 --out preds.json',
    'oppu score --golds dev_outputs.json --preds preds.json',
  ],
  async run(values, context) {
    const taskId = optionValue(() => lampTaskId(stringOption(values, 'task')!, '--task'));
    const task = lampTask(taskId);
    const method = optionValue(() => methodName(stringOption(values, 'method')!, '--method'));
    const k = positiveInt(stringOption(values, 'k'), '--k');
    const seed = positiveInt(stringOption(values, 'seed'), '--seed') ?? 42;
    const epochs = positiveInt(stringOption(values, 'epochs'), '--epochs');
    const maxSteps = positiveInt(stringOption(values, 'max-steps'), '--max-steps');
    const recipeName = stringOption(values, 'recipe') ?? (stringOption(values, 'base') ? 'paper' : 'small');
    if (recipeName !== 'small' && recipeName !== 'paper') {
      throw new CliUsageError(`--recipe must be small or paper, got "${recipeName}"`);
    }
    const lrText = stringOption(values, 'lr');
    const lr = lrText === undefined ? undefined : Number(lrText);
    if (lr !== undefined && !(lr > 0 && lr < 1)) {
      throw new CliUsageError(`--lr must be a number between 0 and 1, got "${lrText}"`);
    }
    const tq = stringOption(values, 'task-train');
    const tg = stringOption(values, 'task-train-outputs');
    if ((tq === undefined) !== (tg === undefined)) {
      throw new CliUsageError('--task-train and --task-train-outputs go together');
    }
    // Before the work: a run of minutes must not end in a failed write.
    const outGiven = stringOption(values, 'out')!;
    const out = context.path(outGiven);
    await checkOutputFile(out, '--out', outGiven);

    const questions = await readQuestions(context.path(stringOption(values, 'questions')!), {
      task: taskId,
      signal: context.signal,
    });
    const taskTrain =
      tq && tg
        ? {
            questions: await readQuestions(context.path(tq), { task: taskId, signal: context.signal }),
            golds: new Map((await readOutputs(context.path(tg))).golds.map((g) => [g.id, g.output])),
          }
        : undefined;

    // The engine's registry of PEFT methods says which --peft values exist (checked before any model work).
    const peft = peftOption(stringOption(values, 'peft'), peftMethods);
    const base = stringOption(values, 'base');
    const engine = await createEngine({
      ...(base ? { baseModelDir: context.path(base) } : {}),
      onLog: (line) => context.note(line),
    });
    const info = engine.model.info;
    const taskAdapter = taskTrain
      ? undefined
      : await shippedTaskAdapter(engine, taskId, base ? context.path(base) : undefined);
    context.note(
      taskTrain
        ? `oppu run: stage 1 on --task-train (${taskTrain.questions.length} questions of other users)`
        : taskAdapter
          ? `oppu run: stage 1 from the ${taskId} task adapter shipped with the base (trained on a synthetic population, none of these users)`
          : `oppu run: no stage 1 (no --task-train, and no ${taskId} task adapter ships with this base); the targets' own data is never pooled into a shared base`,
    );
    context.note(
      `oppu run: ${method} on ${taskId}, ${questions.length} questions, base ${info.name} (${(info.parameters / 1e6).toFixed(2)}M parameters)`,
    );
    const training: Partial<TrainingConfig> = {
      ...(recipeName === 'small' ? SMALL_BASE_TRAINING : OPPU_TRAINING),
      seed,
      ...(lr !== undefined ? { learningRate: lr } : {}),
      ...(epochs !== undefined ? { epochs } : {}),
      ...(maxSteps !== undefined ? { maxSteps } : {}),
    };
    let phase = '';
    let bar = progressBar(context, '');
    try {
      const result = await runLamp({
        task,
        questions,
        method,
        ...(k !== undefined ? { k } : {}),
        peft,
        training,
        ...(taskTrain ? { taskTrain } : {}),
        ...(taskAdapter ? { taskAdapter } : {}),
        engine,
        ranker: createRanker(),
        ...(METHODS[method].profile ? { summarizer: createSummarizer('extractive') } : {}),
        seed,
        signal: context.signal,
        onProgress: (e) => {
          if (e.phase !== phase) {
            bar.stop();
            phase = e.phase;
            bar = progressBar(context, phase.padEnd(18));
          }
          bar.onProgress(e);
        },
      });
      bar.stop();
      await writeOutputs(out, result.predictions);
      const s = result.seconds;
      context.note(
        `oppu run: wrote ${result.predictions.golds.length} predictions (task adaptation ${s.taskAdaptation.toFixed(1)} s, personalization ${s.personalization.toFixed(1)} s, inference ${s.inference.toFixed(1)} s)`,
      );
    } finally {
      bar.stop();
      engine.dispose();
    }
  },
};
export default run;
