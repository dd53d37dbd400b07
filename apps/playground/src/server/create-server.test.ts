import { LAMP_2M_TAGS } from '@oppu/core';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthHistories, type TestPlayground, testPlayground, uid } from '../testing.js';

/** The API on the real engine (tiny base model, 2 training steps): validation, isolation, concurrency, lifecycle. */
let t: TestPlayground;
const histories = synthHistories(3);

beforeAll(async () => {
  t = await testPlayground({ steps: 2 });
});
afterAll(async () => {
  await t?.close();
});

const post = (url: string, payload?: unknown) =>
  t.app.inject({ method: 'POST', url, ...(payload === undefined ? {} : { payload: payload as object }) });
// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON answers
const json = (res: LightMyRequestResponse) => res.json() as Record<string, any>;
const errorOf = (res: LightMyRequestResponse) => json(res).error as { code: string; message: string };

describe('validation', () => {
  it('rejects bad user ids in bodies and URLs, with the rule in the message', async () => {
    let res = await post('/api/users', { id: '../../etc' });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).message).toBe(
      'body.id: is not a valid user id (use 1-64 characters from A-Z a-z 0-9 _ -)',
    );

    for (const url of [
      '/api/users/..%2F..%2Fetc/items',
      '/api/users/a.b/items',
      `/api/users/${'x'.repeat(65)}`,
    ]) {
      res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(errorOf(res).code).toBe('invalid_user_id');
      expect(errorOf(res).message).toMatch(/^user id in the URL: ".*" is not a valid user id/);
    }
  });

  it('names unknown fields, missing fields, wrong enums and unknown users', async () => {
    expect(errorOf(await post('/api/users', { id: 'ok', admin: true })).message).toBe(
      'body: unknown field "admin"',
    );
    expect(errorOf(await post('/api/users', {})).message).toBe('body: missing required field "id"');
    expect(errorOf(await post('/api/users', { id: 'ok', task: 'LaMP_3' })).message).toBe(
      'body.task: must be one of "LaMP_2M", "LaMP_7"',
    );
    const res = await t.app.inject({ method: 'GET', url: '/api/users/nobody/items' });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).message).toBe('user "nobody" does not exist; create it first (POST /api/users)');
    expect((await t.app.inject({ method: 'GET', url: '/api/nothing' })).statusCode).toBe(404);
  });

  it('checks history items against the task, and bodies against size limits', async () => {
    expect((await post('/api/users', { id: 'val' })).statusCode).toBe(201);
    let res = await post('/api/users/val/items', { items: [{ id: 'm1', description: 'a heist' }] });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).message).toMatch(/history item "m1" has no "tag" field/);
    res = await post('/api/users/val/items', { items: [{ id: 'm1', description: 'x', tag: 7 }] });
    expect(errorOf(res).message).toBe('body.items[0].tag: must be string');

    res = await t.app.inject({
      method: 'POST',
      url: '/api/users',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ id: 'big', pad: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(res.statusCode).toBe(413);
    expect(errorOf(res).code).toBe('body_too_large');
    res = await t.app.inject({
      method: 'POST',
      url: '/api/users',
      headers: { 'content-type': 'application/json' },
      payload: '{"id": ',
    });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('invalid_json');
  });

  it('imports a LaMP questions file, or says which question and field are wrong', async () => {
    const good = [{ id: 'q1', input: 'x', profile: histories[0]!.items, user_id: 'u' }];
    good[0]!.input = histories[0]!.questions[0]!;
    let res = await post('/api/users/val/questions', good);
    expect(res.statusCode).toBe(200);
    expect(json(res)).toMatchObject({ questions: 1, added: histories[0]!.items.length });

    const bad = [good[0], { id: 'q2', input: good[0]!.input, profile: [{ id: 'p', description: 'd' }] }];
    res = await post('/api/users/val/questions', bad);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).message).toBe(
      'questions file: item 1 (id "q2"): profile[0] has no "tag" field (LaMP_2M items need description, tag)',
    );
    res = await post('/api/users/val/questions', { not: 'an array' });
    expect(errorOf(res).message).toMatch(/^questions file: expected a JSON array/);

    const first = histories[0]!.items[0]!.id;
    res = await t.app.inject({
      method: 'DELETE',
      url: '/api/users/val/items',
      payload: { ids: [first, 'no-such-id'] },
    });
    expect(json(res)).toEqual({ removed: 1, total: histories[0]!.items.length - 1 });
  });
});

describe('users, training and answers', () => {
  it('trains several users at once, each on their own history, and answers them concurrently', async () => {
    const ids = ['u0', 'u1', 'u2'];
    for (const [i, id] of ids.entries()) {
      expect((await post('/api/users', { id })).statusCode).toBe(201);
      expect(json(await post(`/api/users/${id}/items`, { items: histories[i]!.items }))).toMatchObject({
        total: histories[i]!.items.length,
      });
    }
    // Everyone's training queued at once; a second start for the same user is refused while one is pending.
    const jobs = await Promise.all(ids.map((id) => post(`/api/users/${id}/training`, {})));
    expect(jobs.map((r) => r.statusCode)).toEqual([202, 202, 202]);
    const again = await post('/api/users/u0/training', {});
    expect(again.statusCode).toBe(409);
    expect(errorOf(again).message).toMatch(/^user "u0" is already training/);
    await t.playground.jobs.idle();
    for (const id of ids) {
      const job = json(await t.app.inject({ method: 'GET', url: `/api/users/${id}/training` })).job;
      expect(job).toMatchObject({ state: 'done', version: 1 });
      expect(job.points.length).toBeGreaterThan(0);
      const versions = json(await t.app.inject({ method: 'GET', url: `/api/users/${id}/adapters` })).versions;
      expect(versions).toHaveLength(1);
      expect(versions[0]).toMatchObject({
        userId: id,
        version: 1,
        training: { items: histories[ids.indexOf(id)]!.items.length },
      });
      expect(versions[0].parameters).toBeGreaterThan(0);
    }

    // Each user asked alone, then all of them at once: the same answers, each from the user's own data.
    const question = (i: number) => ({
      question: extractDescription(histories[i]!.questions[0]!),
      methods: ['base', 'rag', 'oppu'],
    });
    const alone: unknown[] = [];
    for (const [i, id] of ids.entries())
      alone.push(json(await post(`/api/users/${id}/ask`, question(i))).answers);
    const together = await Promise.all(ids.map((id, i) => post(`/api/users/${id}/ask`, question(i))));
    expect(together.map((r) => json(r).answers)).toEqual(alone);
    for (const [i, answers] of alone.entries()) {
      const [base, rag, oppu] = answers as {
        method: string;
        text: string;
        retrieved: { id: string }[];
        adapterVersion?: number;
        probabilities: Record<string, number>;
      }[];
      // LaMP-2M is a label task: every answer is one of its tags, with each tag's probability shown.
      for (const a of [base!, rag!, oppu!]) {
        expect(LAMP_2M_TAGS).toContain(a.text);
        expect(Object.keys(a.probabilities).sort()).toEqual([...LAMP_2M_TAGS].sort());
        expect(Object.values(a.probabilities).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 9);
        expect(Math.max(...Object.values(a.probabilities))).toBe(a.probabilities[a.text]);
      }
      expect(base).toMatchObject({ method: 'base', retrieved: [] });
      expect(base!.adapterVersion).toBeUndefined();
      const own = new Set(histories[i]!.items.map((it) => it.id));
      expect(rag!.retrieved.length).toBe(1);
      expect(own.has(rag!.retrieved[0]!.id)).toBe(true);
      expect(oppu).toMatchObject({ method: 'oppu', adapterVersion: 1 });
    }
  });

  it('cancels a queued training and keeps the previous adapter', async () => {
    // Started in the same tick, so u2 waits behind u1 (one training at a time) when the cancel arrives.
    t.playground.startTraining(uid('u1'));
    t.playground.startTraining(uid('u2'));
    const res = await t.app.inject({ method: 'DELETE', url: '/api/users/u2/training' });
    expect(res.statusCode).toBe(200);
    await t.playground.jobs.idle();
    expect(t.playground.jobs.get(uid('u2'))).toMatchObject({
      state: 'cancelled',
      error: { code: 'aborted' },
    });
    expect(t.playground.jobs.get(uid('u1'))).toMatchObject({ state: 'done', version: 2 });
    const versions = json(await t.app.inject({ method: 'GET', url: '/api/users/u2/adapters' })).versions;
    expect(versions.map((v: { version: number }) => v.version)).toEqual([1]);
    expect((await t.app.inject({ method: 'DELETE', url: '/api/users/u2/training' })).statusCode).toBe(404);
  });

  it('rolls back, exports, imports into another user, and forgets everything', async () => {
    let res = await post('/api/users/u1/adapters/rollback', { version: 1 });
    expect(json(res).version).toMatchObject({ version: 3, parent: 1 });
    res = await t.app.inject({ method: 'GET', url: '/api/users/u1/adapters/export' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toBe('attachment; filename="u1-adapters.zip"');
    expect(res.rawPayload.subarray(0, 2).toString('latin1')).toBe('PK');

    expect((await post('/api/users', { id: 'copy' })).statusCode).toBe(201);
    res = await t.app.inject({
      method: 'POST',
      url: '/api/users/copy/adapters/import',
      headers: { 'content-type': 'application/zip' },
      payload: res.rawPayload,
    });
    expect(res.statusCode).toBe(200);
    expect(json(res).versions.map((v: { version: number }) => v.version)).toEqual([1, 2, 3]);
    res = await t.app.inject({
      method: 'POST',
      url: '/api/users/copy/adapters/import',
      headers: { 'content-type': 'application/zip' },
      payload: Buffer.from('not a zip'),
    });
    expect(res.statusCode).toBe(400);

    res = await t.app.inject({ method: 'DELETE', url: '/api/users/u1' });
    expect(res.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/api/users/u1' })).statusCode).toBe(404);
    const service = t.playground.backend('LaMP_2M').service;
    expect(await service.items(uid('u1'))).toEqual([]);
    expect(await service.versions(uid('u1'))).toEqual([]);
    // Other users are untouched.
    expect(await service.versions(uid('u0'))).toHaveLength(1);
  });
});

describe('demo users', () => {
  it('creates users with synthetic histories of different preferences and trains them in the background', async () => {
    const created = await t.playground.seedDemoUsers({ users: 2, items: 6 });
    expect(created.map((u) => u.id)).toEqual(['ada', 'ben']);
    const [ada, ben] = created;
    expect(ada!.demo!.description).not.toBe(ben!.demo!.description);
    expect(ada!.demo!.examples).toHaveLength(3);
    const users = json(await t.app.inject({ method: 'GET', url: '/api/users' })).users as {
      id: string;
      items: number;
    }[];
    expect(users.find((u) => u.id === 'ada')!.items).toBeGreaterThanOrEqual(3);
    expect(t.playground.jobs.isActive(uid('ada'))).toBe(true);
    await t.playground.jobs.idle();
    expect(t.playground.jobs.get(uid('ben'))).toMatchObject({ state: 'done', version: 1 });
    // Seeding again adds nobody: the demo users exist.
    expect(await t.playground.seedDemoUsers({ users: 2, items: 6, train: false })).toEqual([]);
  });
});

describe('evaluation', () => {
  it('runs the LaMP table on synthetic users through the pipeline and scores it', async () => {
    let res = await post('/api/evaluations', {
      methods: ['base', 'rag', 'oppu'],
      users: 2,
      items: 4,
      queries: 1,
      steps: 1,
      taskSteps: 1,
    });
    expect(res.statusCode).toBe(202);
    const id = json(res).run.id as number;
    expect((await post('/api/evaluations', {})).statusCode).toBe(409);
    await t.playground.evaluations.idle();
    const run = json(await t.app.inject({ method: 'GET', url: `/api/evaluations/${id}` })).run;
    expect(run).toMatchObject({ state: 'done', done: 3, total: 3 });
    expect(run.rows.map((r: { method: string }) => r.method)).toEqual([
      'base',
      'rag',
      'oppu',
      'oracle',
      'no-user rule',
    ]);
    for (const row of run.rows) {
      expect(row.scores).toMatchObject({ task: 'LaMP_2M', count: 2 });
      expect(row.scores.accuracy).toBeGreaterThanOrEqual(0);
      expect(row.scores.accuracy).toBeLessThanOrEqual(1);
    }
    res = await post('/api/evaluations', { methods: ['nope'] });
    expect(errorOf(res).message).toMatch(/^body\.methods\[0\]: must be one of "base", "rag", "pag", "oppu"/);
    expect((await t.app.inject({ method: 'GET', url: '/api/evaluations/99' })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/evaluations/${id}` })).statusCode).toBe(409);
  });
});

describe('live events', () => {
  it('streams job states and training progress over Server-Sent Events', async () => {
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const controller = new AbortController();
    const res = await fetch(`${url}/api/events`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    expect((await post('/api/users/u0/training', {})).statusCode).toBe(202);
    let text = '';
    const decoder = new TextDecoder();
    const finished = /"user":"u0"[^\n]*"state":"done"[^\n]*"version":2/;
    while (!finished.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    controller.abort();
    expect(text).toMatch(/event: progress\ndata: \{"type":"progress","user":"u0"/);
    expect(text).toMatch(/"user":"u0"[^\n]*"state":"queued"/);
  });
});

function extractDescription(input: string): string {
  return input.slice(input.indexOf('description: ') + 'description: '.length);
}
