import { METHOD_NAMES } from '@oppu/core';
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
    id: { type: 'string', minLength: 1, maxLength: 200 },
    date: { type: 'string', maxLength: 40 },
  },
  additionalProperties: { type: 'string', maxLength: 50_000 },
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
