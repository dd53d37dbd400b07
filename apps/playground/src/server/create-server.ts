import { randomUUID } from 'node:crypto';
import fastifyStatic from '@fastify/static';
import {
  type HistoryItem,
  type LampQuestion,
  METHOD_NAMES,
  type MethodName,
  OppuError,
  userId,
  validateQuestion,
} from '@oppu/core';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type AccessOptions, installAccessGuard } from './access-guard.js';
import type { EvaluationRequest } from './evaluations.js';
import type { HubEvent } from './event-hub.js';
import { clientErrorHandler, sendError } from './http-errors.js';
import type { Playground } from './playground.js';
import {
  ARCHIVE_LIMIT,
  addItemsBody,
  askBody,
  checkQuestionCaps,
  createUserBody,
  evaluationBody,
  ITEMS_LIMIT,
  JSON_LIMIT,
  QUESTIONS_LIMIT,
  questionsQuery,
  removeItemsBody,
  rollbackBody,
  trainBody,
} from './schemas.js';
import { type PlaygroundTaskId, playgroundTask, taskInfo } from './task-info.js';

export interface ServerOptions {
  /** The built UI (index.html and assets); without it only the API is served. */
  readonly uiDir?: string;
  /** Fastify's logger (default off). */
  readonly logger?: boolean;
  /** Default adapter learning rate of evaluations, stage 1 included (default 0.003; the playground passes --lr). */
  readonly learningRate?: number;
  /** Seconds between keep-alive comments on event streams (default 15). */
  readonly heartbeatSeconds?: number;
  /**
   * Redis (`redis://host:port`): trainings become `@oppu/queue` jobs that workers over the same task homes take
   * (see `playgroundQueueName`); without it the playground trains in this process.
   */
  readonly redisUrl?: string;
  /** Host names allowed besides localhost, and the access token (see `installAccessGuard`). */
  readonly access?: AccessOptions;
}

const DEFAULT_METHODS: readonly MethodName[] = ['base', 'rag', 'pag', 'oppu'];

type Params = { id: string };
const idOf = (request: FastifyRequest) => userId((request.params as Params).id, 'user id in the URL');

/**
 * The playground's HTTP server: a JSON API under /api, live events at /api/events (Server-Sent Events), and the
 * web page. Every user id in a URL is validated before it reaches the engine (no path traversal), bodies are
 * checked against JSON Schemas and size limits, and each user's work is serialised by the service while
 * different users are served concurrently.
 */
export async function createServer(
  playground: Playground,
  options: ServerOptions = {},
): Promise<FastifyInstance> {
  if (options.redisUrl && !playground.queuesTraining) await playground.trainThroughQueue(options.redisUrl);
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: JSON_LIMIT,
    // Open event streams would otherwise keep close() waiting.
    forceCloseConnections: true,
    // Strict validation: Fastify's defaults would drop unknown fields and coerce types silently.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // Malformed URLs, over-long URL parts and requests Node's parser refuses: the same error shape.
    frameworkErrors: sendError,
    clientErrorHandler,
  });
  app.setErrorHandler(sendError);
  installAccessGuard(app, options.access);
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({
      error: {
        code: 'not_found',
        message: `${request.method} ${request.url.split('?')[0]} does not exist`,
      },
    });
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
  });
  // Adapter archives arrive as raw bytes.
  app.addContentTypeParser(
    ['application/zip', 'application/octet-stream'],
    { parseAs: 'buffer', bodyLimit: ARCHIVE_LIMIT },
    (_request, body, done) => done(null, body),
  );

  app.get('/api/info', async () => ({
    tasks: playground.taskIds.map(taskInfo),
    defaultTask: playground.defaultTask,
    baseModel: playground.backend(playground.defaultTask).service.engine.model.info,
    methods: METHOD_NAMES,
  }));

  // Users.
  app.get('/api/users', async () => ({ users: await playground.summaries() }));
  app.post('/api/users', { schema: { body: createUserBody } }, async (request, reply) => {
    const body = request.body as { id: string; task?: string };
    const user = await playground.createUser(userId(body.id, 'body.id'), body.task ?? playground.defaultTask);
    return reply.status(201).send({ user: await playground.summary(user) });
  });
  app.get('/api/users/:id', async (request) => {
    const { user } = playground.user(idOf(request));
    return { user: await playground.summary(user) };
  });
  app.delete('/api/users/:id', async (request, reply) => {
    await playground.forgetUser(idOf(request));
    return reply.status(204).send();
  });

  // History.
  app.get('/api/users/:id/items', async (request) => {
    const id = idOf(request);
    const { backend } = playground.user(id);
    return { items: await backend.service.items(id) };
  });
  app.post(
    '/api/users/:id/items',
    { schema: { body: addItemsBody }, bodyLimit: ITEMS_LIMIT },
    async (request) => {
      const id = idOf(request);
      const body = request.body as { items: Record<string, string>[] };
      const items = body.items.map((it) => ({ ...it, id: it.id ?? randomUUID().slice(0, 8) }) as HistoryItem);
      return { added: items.length, total: await playground.addItems(id, items) };
    },
  );
  app.delete('/api/users/:id/items', { schema: { body: removeItemsBody } }, async (request) => {
    const id = idOf(request);
    const { backend } = playground.user(id);
    const removed = await backend.service.removeItems(id, (request.body as { ids: string[] }).ids);
    return { removed, total: (await backend.service.items(id)).length };
  });
  app.post(
    '/api/users/:id/questions',
    { schema: { querystring: questionsQuery }, bodyLimit: QUESTIONS_LIMIT },
    async (request) => {
      const id = idOf(request);
      const { user } = playground.user(id);
      const only = (request.query as { user_id?: string }).user_id;
      const questions = readQuestionsBody(request.body, user.task as PlaygroundTaskId);
      const chosen = only === undefined ? questions : questions.filter((q) => q.user_id === only);
      if (chosen.length === 0) {
        throw new OppuError(
          'invalid_questions',
          `questions file: no question has user_id ${JSON.stringify(only)}`,
        );
      }
      const items = new Map<string, HistoryItem>();
      for (const q of chosen) for (const item of q.profile) if (!items.has(item.id)) items.set(item.id, item);
      const total = await playground.addItems(id, [...items.values()]);
      return { questions: chosen.length, added: items.size, total };
    },
  );
  app.get('/api/users/:id/profile', async (request) => {
    const id = idOf(request);
    const { backend } = playground.user(id);
    return { profile: (await backend.service.profile(id)) ?? null };
  });

  // Training.
  app.post('/api/users/:id/training', { schema: { body: trainBody } }, async (request, reply) => {
    const mode = (request.body as { mode?: 'incremental' | 'fresh' } | undefined)?.mode ?? 'incremental';
    return reply.status(202).send({ job: playground.startTraining(idOf(request), mode) });
  });
  app.get('/api/users/:id/training', async (request) => {
    const id = idOf(request);
    playground.user(id);
    return { job: playground.jobs.get(id) ?? null };
  });
  app.delete('/api/users/:id/training', async (request) => ({ job: playground.jobs.cancel(idOf(request)) }));

  // Questions answered side by side.
  app.post('/api/users/:id/ask', { schema: { body: askBody } }, async (request) => {
    const body = request.body as { question: string; methods?: MethodName[] };
    const answers = await playground.ask(idOf(request), body.question, body.methods ?? DEFAULT_METHODS);
    return { answers };
  });

  // Adapters.
  app.get('/api/users/:id/adapters', async (request) => ({
    versions: await playground.adapterVersions(idOf(request)),
  }));
  app.get('/api/users/:id/adapters/export', async (request, reply) => {
    const id = idOf(request);
    const { backend } = playground.user(id);
    const bytes = await backend.service.exportAdapter(id);
    return reply
      .header('content-type', 'application/zip')
      .header('content-disposition', `attachment; filename="${id}-adapters.zip"`)
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
  app.post('/api/users/:id/adapters/import', { bodyLimit: ARCHIVE_LIMIT }, async (request) => {
    const id = idOf(request);
    playground.user(id);
    if (!Buffer.isBuffer(request.body)) {
      throw new OppuError(
        'invalid_archive',
        'send the adapter archive as the raw body with content-type application/zip',
      );
    }
    return { versions: await playground.importAdapter(id, new Uint8Array(request.body)) };
  });
  app.post('/api/users/:id/adapters/rollback', { schema: { body: rollbackBody } }, async (request) => ({
    version: await playground.rollback(idOf(request), (request.body as { version: number }).version),
  }));

  // Evaluation on synthetic LaMP data.
  app.get('/api/evaluations', async () => ({ runs: playground.evaluations.list() }));
  app.post('/api/evaluations', { schema: { body: evaluationBody } }, async (request, reply) => {
    const body = (request.body ?? {}) as Partial<EvaluationRequest>;
    const task = playgroundTask(body.task ?? playground.defaultTask, 'body.task');
    const run = playground.evaluations.start({
      task,
      methods: body.methods ?? ['base', 'rag', 'pag', 'oppu', 'oppu+rag'],
      users: body.users ?? 3,
      items: body.items ?? 12,
      queries: body.queries ?? 4,
      steps: body.steps ?? 12,
      taskSteps: body.taskSteps ?? 12,
      seed: body.seed ?? 11,
      learningRate: body.learningRate ?? options.learningRate ?? 0.003,
    });
    return reply.status(202).send({ run });
  });
  app.get('/api/evaluations/:run', async (request) => ({ run: playground.evaluations.get(runId(request)) }));
  app.delete('/api/evaluations/:run', async (request) => ({
    run: playground.evaluations.cancel(runId(request)),
  }));

  // Live events.
  app.get('/api/events', (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    // Send the headers now: with no job to replay, the client would otherwise wait for the first heartbeat.
    res.flushHeaders();
    const send = (event: HubEvent) => {
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    for (const job of playground.jobs.list()) send({ type: 'job', job: { ...job, points: undefined } });
    const unsubscribe = playground.hub.subscribe(send);
    const heartbeat = setInterval(
      () => res.write(': keep-alive\n\n'),
      (options.heartbeatSeconds ?? 15) * 1000,
    );
    request.raw.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });

  if (options.uiDir) {
    await app.register(fastifyStatic, { root: options.uiDir, index: 'index.html', wildcard: false });
  }
  app.addHook('onClose', async () => {
    await playground.close();
  });
  return app;
}

function runId(request: FastifyRequest): number {
  const raw = (request.params as { run: string }).run;
  if (!/^\d{1,9}$/.test(raw)) {
    throw new OppuError(
      'invalid_request',
      `evaluation id in the URL: ${JSON.stringify(raw.slice(0, 40))} is not a number`,
    );
  }
  return Number(raw);
}

/** A LaMP questions file sent as the JSON body, validated item by item with core's LaMP reader rules. */
function readQuestionsBody(body: unknown, task: PlaygroundTaskId): LampQuestion[] {
  if (!Array.isArray(body)) {
    throw new OppuError(
      'invalid_questions',
      'questions file: expected a JSON array of questions [{id, input, profile}, ...]',
    );
  }
  const seen = new Map<string, number>();
  return body.map((raw, i) => {
    // The caps of POST /items, before any parsing of the texts.
    checkQuestionCaps(raw, `questions file: item ${i}`);
    const q = validateQuestion(raw, `questions file: item ${i}`, task);
    const first = seen.get(q.id);
    if (first !== undefined) {
      throw new OppuError(
        'duplicate_id',
        `questions file: item ${i} (id ${JSON.stringify(q.id)}): the id is already used by item ${first}; question ids must be unique`,
      );
    }
    seen.set(q.id, i);
    return q;
  });
}
