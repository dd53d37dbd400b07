import { METHOD_NAMES, OppuError } from '@oppu/core';
import { PLAYGROUND_TASKS } from './task-info.js';

/**
 * JSON Schemas of the API's request bodies, checked by Fastify's built-in validator (Ajv) before a handler
 * runs. User ids in URLs are checked by `userId()` from @oppu/core in the handlers.
 */

/** JSON bodies in general. */
export const JSON_LIMIT = 1024 * 1024;
/** History items: up to 1,000 items per request. */
export const ITEMS_LIMIT = 8 * 1024 * 1024;
/** A LaMP questions file. */
export const QUESTIONS_LIMIT = 32 * 1024 * 1024;
/** An adapter archive. */
export const ARCHIVE_LIMIT = 64 * 1024 * 1024;

/** Per-field caps of a history item, on every route that stores items (POST /items and POST /questions). */
export const ITEM_ID_MAX = 200;
export const ITEM_DATE_MAX = 40;
export const ITEM_FIELD_MAX = 50_000;

const userIdSchema = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
const taskSchema = { type: 'string', enum: [...PLAYGROUND_TASKS] } as const;
const methodSchema = { type: 'string', enum: [...METHOD_NAMES] } as const;

export const createUserBody = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: userIdSchema, task: taskSchema },
} as const;

export const itemSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1, maxLength: ITEM_ID_MAX },
    date: { type: 'string', maxLength: ITEM_DATE_MAX },
  },
  additionalProperties: { type: 'string', maxLength: ITEM_FIELD_MAX },
} as const;

export const addItemsBody = {
  type: 'object',
  required: ['items'],
  additionalProperties: false,
  properties: { items: { type: 'array', minItems: 1, maxItems: 1000, items: itemSchema } },
} as const;

export const removeItemsBody = {
  type: 'object',
  required: ['ids'],
  additionalProperties: false,
  properties: {
    ids: {
      type: 'array',
      minItems: 1,
      maxItems: 10_000,
      items: { type: 'string', minLength: 1, maxLength: 200 },
    },
  },
} as const;

export const trainBody = {
  type: 'object',
  additionalProperties: false,
  properties: { mode: { type: 'string', enum: ['incremental', 'fresh'] } },
} as const;

export const askBody = {
  type: 'object',
  required: ['question'],
  additionalProperties: false,
  properties: {
    question: { type: 'string', minLength: 1, maxLength: 20_000 },
    methods: {
      type: 'array',
      minItems: 1,
      maxItems: METHOD_NAMES.length,
      uniqueItems: true,
      items: methodSchema,
    },
  },
} as const;

export const rollbackBody = {
  type: 'object',
  required: ['version'],
  additionalProperties: false,
  properties: { version: { type: 'integer', minimum: 1 } },
} as const;

export const evaluationBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    task: taskSchema,
    methods: {
      type: 'array',
      minItems: 1,
      maxItems: METHOD_NAMES.length,
      uniqueItems: true,
      items: methodSchema,
    },
    users: { type: 'integer', minimum: 1, maximum: 8 },
    items: { type: 'integer', minimum: 2, maximum: 64 },
    queries: { type: 'integer', minimum: 1, maximum: 10 },
    steps: { type: 'integer', minimum: 1, maximum: 200 },
    taskSteps: { type: 'integer', minimum: 1, maximum: 200 },
    seed: { type: 'integer' },
    learningRate: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  },
} as const;

export const questionsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { user_id: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

const capOf = (field: string) =>
  field === 'id' || field === 'user_id' ? ITEM_ID_MAX : field === 'date' ? ITEM_DATE_MAX : ITEM_FIELD_MAX;

function checkFields(value: unknown, where: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  for (const [field, v] of Object.entries(value)) {
    if (typeof v === 'string' && v.length > capOf(field)) {
      throw new OppuError(
        'field_too_long',
        `${where}${field}: is ${v.length} characters long; at most ${capOf(field)} (the cap of every history item)`,
      );
    }
  }
}

/**
 * The per-field caps of `itemSchema` applied to a question of a LaMP questions file (its id, input and user_id,
 * and every field of every profile item), before anything parses the texts: a 24 MB item is refused at once.
 */
export function checkQuestionCaps(raw: unknown, where: string): void {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return;
  const q = raw as { id?: unknown; profile?: unknown };
  const named =
    typeof q.id === 'string' && q.id.length <= ITEM_ID_MAX ? `${where} (id ${JSON.stringify(q.id)})` : where;
  checkFields(
    { id: q.id, input: (raw as { input?: unknown }).input, user_id: (raw as { user_id?: unknown }).user_id },
    `${named}: `,
  );
  if (!Array.isArray(q.profile)) return;
  for (const [j, item] of q.profile.entries()) checkFields(item, `${named}: profile[${j}].`);
}
