/**
 * Oversized and malformed requests to the playground API (issue 12), generated with fast-check: bodies over
 * each route's limit, wrong content types, bad JSON, prototype-pollution keys, bodies that break the schema,
 * hostile user ids in URLs and bodies, and broken LaMP questions files. Every one gets a 4xx with a JSON
 * `{error: {code, message}}` that says what was wrong, never a 500, and the stored data (every file under the
 * playground's home, and the user's history) is unchanged.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthHistories, type TestPlayground, testPlayground } from '../testing.js';
import { ARCHIVE_LIMIT, ITEMS_LIMIT, JSON_LIMIT, QUESTIONS_LIMIT } from './schemas.js';

const SEED = 20261125;

/** Every file and folder under `dir`, files by sha256: equal snapshots mean nothing stored changed. */
async function snapshotTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (at: string): Promise<void> => {
    for (const name of (await readdir(at)).sort()) {
      const p = join(at, name);
      const st = await lstat(p);
      if (st.isDirectory()) {
        out.set(relative(dir, p), 'dir');
        await walk(p);
      } else
        out.set(
          relative(dir, p),
          createHash('sha256')
            .update(await readFile(p))
            .digest('hex'),
        );
    }
  };
  await walk(dir);
  return out;
}
let t: TestPlayground;
let before: Map<string, string>;
let aliceItems: unknown;
const counts = new Map<string, number>();
const hit = (kind: string) => counts.set(kind, (counts.get(kind) ?? 0) + 1);

beforeAll(async () => {
  t = await testPlayground({ steps: 1 });
  const history = synthHistories(1, 4)[0]!;
  expect(
    (await t.app.inject({ method: 'POST', url: '/api/users', payload: { id: 'alice' } })).statusCode,
  ).toBe(201);
  const added = await t.app.inject({
    method: 'POST',
    url: '/api/users/alice/items',
    payload: { items: history.items },
  });
  expect(added.statusCode).toBe(200);
  aliceItems = (await t.app.inject({ method: 'GET', url: '/api/users/alice/items' })).json();
  before = await snapshotTree(t.home);
});
afterAll(async () => {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  console.log(
    `[fuzz] playground API requests: ${total} cases (${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')})`,
  );
  await t?.close();
});

/** A refusal: 4xx, a JSON error with a code and a message matching `names`, and nothing stored changed. */
async function refused(res: LightMyRequestResponse, status: number | RegExp, names: RegExp): Promise<void> {
  if (typeof status === 'number') expect(res.statusCode, res.body.slice(0, 300)).toBe(status);
  else expect(String(res.statusCode), res.body.slice(0, 300)).toMatch(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const { error } = res.json() as { error: { code: string; message: string } };
  expect(error.code).toMatch(/^[a-z_]+$/);
  expect(error.message).toMatch(names);
  expect(error.message).not.toMatch(/\.ts:\d+|node_modules|at \w+ \(/); // no stack traces
  expect(await snapshotTree(t.home)).toEqual(before);
  expect((await t.app.inject({ method: 'GET', url: '/api/users/alice/items' })).json()).toEqual(aliceItems);
}

/** JSON routes and the fields their schema allows (a body of only allowed fields might be valid). */
const JSON_ROUTES = [
  ['POST', '/api/users', ['id', 'task']],
  ['POST', '/api/users/alice/ask', ['question', 'methods']],
  ['POST', '/api/users/alice/training', ['mode']],
  ['DELETE', '/api/users/alice/items', ['ids']],
  ['POST', '/api/users/alice/adapters/rollback', ['version']],
  [
    'POST',
    '/api/evaluations',
    ['task', 'methods', 'users', 'items', 'queries', 'steps', 'taskSteps', 'seed', 'learningRate'],
  ],
] as const;

describe('playground API: hostile requests get a clear 4xx and change nothing', () => {
  it('bodies over the route limit (1 MiB JSON, 8 MiB items, 32 MiB questions, 64 MiB archives)', async () => {
    const routes = [
      ['POST', '/api/users/alice/ask', JSON_LIMIT, 'application/json'],
      ['POST', '/api/users', JSON_LIMIT, 'application/json'],
      ['POST', '/api/users/alice/items', ITEMS_LIMIT, 'application/json'],
      ['POST', '/api/users/alice/questions', QUESTIONS_LIMIT, 'application/json'],
      ['POST', '/api/users/alice/adapters/import', ARCHIVE_LIMIT, 'application/zip'],
    ] as const;
    await fc.assert(
      fc.asyncProperty(fc.nat(routes.length - 1), fc.integer({ min: 1, max: 4096 }), async (r, extra) => {
        const [method, url, limit, type] = routes[r]!;
        const payload =
          type === 'application/zip'
            ? Buffer.alloc(limit + extra, 0x50)
            : `{"question":"${'x'.repeat(limit + extra)}"}`;
        const res = await t.app.inject({ method, url, payload, headers: { 'content-type': type } });
        await refused(res, 413, new RegExp(`larger than this route accepts \\(${limit} bytes\\)`));
        hit('too-large');
      }),
      { numRuns: 15, seed: SEED },
    );
  });

  it('wrong content types', async () => {
    const types = fc.constantFrom(
      'text/plain',
      'application/xml',
      'multipart/form-data; boundary=x',
      'application/x-www-form-urlencoded',
      'image/png',
      'application/jsonx',
      'text/json',
      'application/zip',
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...JSON_ROUTES), types, async ([method, url], type) => {
        fc.pre(!(type === 'application/zip' && url.endsWith('/import')));
        const res = await t.app.inject({
          method,
          url,
          payload: '{"id":"mallory"}',
          headers: { 'content-type': type },
        });
        await refused(
          res,
          /^4(00|15)$/,
          /(unsupported|content-type|Content-Type|media type|must be object|body)/i,
        );
        hit('content-type');
      }),
      { numRuns: 60, seed: SEED },
    );
  });

  it('bad JSON: truncated, trailing garbage, NaN, comments, deep nesting, prototype pollution', async () => {
    const bad = fc.oneof(
      fc.constantFrom(
        '{',
        '{"id":',
        '{"id":"mallory"',
        '{"id":"mallory"}}',
        '{"id":"mallory"} x',
        "{'id':'mallory'}",
        '{"id":NaN}',
        '{"id":"mallory",}',
        '/* c */ {"id":"mallory"}',
        '\u0000',
        '[',
        '"',
        `${'['.repeat(10_000)}`,
        `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`,
        '{"__proto__":{"admin":true},"id":"mallory"}',
        '{"constructor":{"prototype":{"admin":true}},"id":"mallory"}',
      ),
      fc.string({ maxLength: 40 }).filter((s) => {
        try {
          JSON.parse(s);
          return false;
        } catch {
          return true;
        }
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...JSON_ROUTES), bad, async ([method, url], payload) => {
        const res = await t.app.inject({
          method,
          url,
          payload,
          headers: { 'content-type': 'application/json' },
        });
        await refused(res, 400, /(JSON|prototype|constructor|body|must)/);
        hit('bad-json');
      }),
      { numRuns: 150, seed: SEED },
    );
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('bodies that break the schema (any JSON value)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...JSON_ROUTES),
        fc.jsonValue({ maxDepth: 3 }),
        async ([method, url, allowed], value) => {
          // Skip objects of allowed fields only: those may be valid requests (a training, an evaluation).
          const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
          fc.pre(!(isObject && Object.keys(value).every((k) => (allowed as readonly string[]).includes(k))));
          const res = await t.app.inject({
            method,
            url,
            payload: JSON.stringify(value),
            headers: { 'content-type': 'application/json' },
          });
          await refused(res, 400, /^(body|request)\S*: /);
          hit('schema');
        },
      ),
      { numRuns: 150, seed: SEED },
    );
  });

  it('hostile user ids in URLs and bodies', async () => {
    const id = fc.oneof(
      fc.constantFrom(
        '..',
        '.',
        '%2e%2e',
        '..%2F..%2Fetc',
        'a%00b',
        '%E2%80%AEecila',
        'ali%E2%80%8Bce',
        '%D0%B0lice',
        'cafe%CC%81',
        'x'.repeat(65),
        'a.b',
        '~',
        '%5C..%5C',
      ),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map(encodeURIComponent),
    );
    await fc.assert(
      fc.asyncProperty(
        id,
        fc.constantFrom('', '/items', '/ask', '/training', '/adapters', '/adapters/export', '/profile'),
        async (raw, tail) => {
          const decoded = (() => {
            try {
              return decodeURIComponent(raw);
            } catch {
              return raw;
            }
          })();
          fc.pre(!/^[A-Za-z0-9_-]{1,64}$/.test(decoded));
          const method = tail === '/ask' ? 'POST' : 'GET';
          const res = await t.app.inject({
            method,
            url: `/api/users/${raw}${tail}`,
            ...(method === 'POST' ? { payload: { question: 'hi' } } : {}),
          });
          await refused(res, /^40[04]$/, /(is not a valid user id|does not exist)/);
          const body = await t.app.inject({ method: 'POST', url: '/api/users', payload: { id: decoded } });
          await refused(body, 400, /^body\.id: is not a valid user id/);
          hit('user-id');
        },
      ),
      { numRuns: 100, seed: SEED },
    );
  });

  it('broken LaMP questions files name the item and field', async () => {
    const history = synthHistories(1, 3, 7)[0]!;
    const good = history.questions.map((input, i) => ({ id: `q${i}`, input, profile: history.items }));
    await fc.assert(
      fc.asyncProperty(
        fc.nat(good.length - 1),
        fc.constantFrom('id', 'input', 'profile'),
        fc.oneof(fc.constant(undefined), fc.constant(null), fc.boolean(), fc.constant({})),
        async (i, field, value) => {
          const qs = JSON.parse(JSON.stringify(good)) as Record<string, unknown>[];
          if (value === undefined) delete qs[i]![field];
          else qs[i]![field] = value;
          const res = await t.app.inject({ method: 'POST', url: '/api/users/alice/questions', payload: qs });
          await refused(
            res,
            400,
            new RegExp(`^questions file: item ${i}( \\(id "q${i}"\\))?: .*"?${field}"?`),
          );
          hit('questions-file');
        },
      ),
      { numRuns: 60, seed: SEED },
    );
  });

  it('on a real loopback socket: chunked bodies with no length are cut off at the limit', async () => {
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 16, max: 256 }),
        async (kib, chunks) => {
          const piece = new TextEncoder().encode('x'.repeat(Math.ceil((JSON_LIMIT + kib * 1024) / chunks)));
          let sent = 0;
          const body = new ReadableStream<Uint8Array>({
            pull(controller) {
              if (sent++ < chunks) controller.enqueue(piece);
              else controller.close();
            },
          });
          const res = await fetch(`${address}/api/users/alice/ask`, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/json' },
            duplex: 'half',
          } as RequestInit);
          expect(res.status).toBe(413);
          const { error } = (await res.json()) as { error: { code: string; message: string } };
          expect(error.code).toBe('body_too_large');
          expect(await snapshotTree(t.home)).toEqual(before);
          hit('chunked-too-large');
        },
      ),
      { numRuns: 10, seed: SEED },
    );
  });
});
