import { LAMP_TASKS, type LampTaskId, lampTaskId, OppuError, type TaskDefinition } from '@oppu/core';

/** The tasks the playground offers: LaMP-2M (movie tagging, the default) and LaMP-7 (tweet paraphrasing). */
export const PLAYGROUND_TASKS = ['LaMP_2M', 'LaMP_7'] as const satisfies readonly LampTaskId[];
export type PlaygroundTaskId = (typeof PLAYGROUND_TASKS)[number];

/** What a question of the task asks for: the one text field of its content (LaMP-2M `description`, LaMP-7 `text`). */
export const QUESTION_FIELD: Readonly<Record<PlaygroundTaskId, string>> = {
  LaMP_2M: 'description',
  LaMP_7: 'text',
};

/** The task description the page needs to build its forms. */
export interface TaskInfo {
  readonly id: PlaygroundTaskId;
  readonly name: string;
  readonly kind: TaskDefinition['kind'];
  readonly labels: readonly string[];
  /** Fields of a history item besides `id` and `date`. */
  readonly itemFields: readonly string[];
  /** The field of a question's content the user types. */
  readonly questionField: string;
}

export function taskInfo(id: PlaygroundTaskId): TaskInfo {
  const task = LAMP_TASKS[id];
  return {
    id,
    name: task.name,
    kind: task.kind,
    labels: task.labels,
    itemFields: task.profileFields,
    questionField: QUESTION_FIELD[id],
  };
}

/** Validates a task name (aliases allowed) as one the playground offers. */
export function playgroundTask(name: unknown, where = 'task'): PlaygroundTaskId {
  const id = lampTaskId(String(name), where);
  if (!(PLAYGROUND_TASKS as readonly string[]).includes(id)) {
    throw new OppuError(
      'unsupported_task',
      `${where}: the playground offers ${PLAYGROUND_TASKS.join(' and ')}, not ${id}`,
    );
  }
  return id as PlaygroundTaskId;
}
