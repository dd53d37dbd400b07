/**
 * Only the owner reaches the playground (issue 18): Host and Origin checks against DNS rebinding and other pages,
 * a token while it listens beyond loopback, one error shape for every refusal (also those Fastify and Node's
 * parser answer themselves), per-field caps on questions files, and no server paths in messages.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthHistories, type TestPlayground, testPlayground } from '../testing.js';
import { hostName, isLoopbackAddress } from './access-guard.js';
import { publicMessage } from './http-errors.js';

let t: TestPlayground;
const history = synthHistories(1, 4)[0]!;

beforeAll(async () => {
  t = await testPlayground({ steps: 1 });
  expect((await inject('POST', '/api/users', { payload: { id: 'alice' } })).statusCode).toBe(201);
  expect(
    (await inject('POST', '/api/users/alice/items', { payload: { items: history.items } })).statusCode,
  ).toBe(200);
});
afterAll(async () => {
  await t?.close();
});

function inject(
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  options: { payload?: object; headers?: Record<string, string> } = {},
) {
  return t.app.inject({
    method,
    url,
    ...(options.payload ? { payload: options.payload } : {}),
    headers: { host: 'localhost:4319', ...options.headers },
  });
}

/** The API's one error shape: `{error: {code, message}}` as JSON, nothing else. */
function errorOf(res: { headers: Record<string, unknown>; body: string }): { code: string; message: string } {
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.code).toMatch(/^[a-z_]+$/);
  return body.error;
}

const users = async () =>
  ((await inject('GET', '/api/users')).json() as { users: { id: string }[] }).users.map((u) => u.id);

describe('on loopback (as before listen, and as `pnpm start` by default)', () => {
  it('refuses a DNS-rebinding page: any Host that is not localhost or a loopback address gets 421', async () => {
    for (const host of [
      'evil.example:4319',
      'evil.example',
      'localhost.evil.example',
      '127.0.0.1.nip.io:4319',
      '192.168.1.5:4319',
      'EVIL.example.:4319',
      'a b',
    ]) {
      const read = await inject('GET', '/api/users', { headers: { host } });
      expect(read.statusCode, host).toBe(421);
      const e = errorOf(read);
      expect(e.code).toBe('host_not_allowed');
      expect(e.message).toMatch(/^Host ".*" is not allowed: this playground answers to localhost/);
      expect(
        (await inject('POST', '/api/users', { headers: { host }, payload: { id: 'mallory' } })).statusCode,
      ).toBe(421);
      expect((await inject('DELETE', '/api/users/alice', { headers: { host } })).statusCode).toBe(421);
      expect(
        (await inject('GET', '/api/users/alice/adapters/export', { headers: { host } })).statusCode,
      ).toBe(421);
    }
    expect(await users()).toEqual(['alice']);
  });

  it('answers localhost, *.localhost and loopback addresses, with no token', async () => {
    for (const host of [
      'localhost:4319',
      'LOCALHOST',
      '127.0.0.1:4319',
      '127.0.0.2',
      '[::1]:4319',
      'pg.localhost:80',
    ]) {
      const res = await inject('GET', '/api/users', { headers: { host } });
      expect(res.statusCode, host).toBe(200);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it('refuses requests sent by other pages: a foreign or null Origin (403), or a cross-site fetch', async () => {
    for (const origin of [
      'http://evil.example',
      'null',
      'http://localhost:9999',
      'file://',
      'chrome-extension://x',
    ]) {
      const res = await inject('POST', '/api/users', { headers: { origin }, payload: { id: 'mallory' } });
      expect(res.statusCode, origin).toBe(403);
      expect(errorOf(res).code).toBe('origin_not_allowed');
      expect((await inject('DELETE', '/api/users/alice', { headers: { origin } })).statusCode).toBe(403);
    }
    for (const site of ['cross-site', 'same-site']) {
      const res = await inject('GET', '/api/users/alice/items', { headers: { 'sec-fetch-site': site } });
      expect(res.statusCode, site).toBe(403);
      expect(errorOf(res).message).toMatch(new RegExp(`^a ${site} request to the API is not allowed`));
    }
    expect(await users()).toEqual(['alice']);
    // The page itself: its own origin, same-origin fetches.
    const own = await inject('POST', '/api/users', {
      headers: { origin: 'http://localhost:4319', 'sec-fetch-site': 'same-origin' },
      payload: { id: 'bob' },
    });
    expect(own.statusCode).toBe(201);
    expect(
      (await inject('DELETE', '/api/users/bob', { headers: { origin: 'http://localhost:4319' } })).statusCode,
    ).toBe(204);
  });

  it('applies the per-field caps of /items to questions files: a 24 MB item is refused at once', async () => {
    const big = 'x'.repeat(24 * 1024 * 1024);
    const questions = [
      {
        id: 'q0',
        input: history.questions[0]!,
        profile: [history.items[0]!, { ...history.items[1]!, description: big }],
      },
    ];
    const started = performance.now();
    const res = await inject('POST', '/api/users/alice/questions', { payload: questions });
    expect(res.statusCode).toBe(400);
    expect(performance.now() - started).toBeLessThan(5_000);
    const e = errorOf(res);
    expect(e.code).toBe('field_too_long');
    expect(e.message).toBe(
      `questions file: item 0 (id "q0"): profile[1].description: is ${big.length} characters long; at most 50000 (the cap of every history item)`,
    );
    // The same caps on ids, dates and the input; nothing was added.
    for (const [q, field] of [
      [{ id: 'q1', input: 'x'.repeat(50_001), profile: [] }, 'input'],
      [{ id: 'q1', input: 'i', profile: [{ ...history.items[0]!, id: 'i'.repeat(201) }] }, 'profile[0].id'],
      [
        { id: 'q1', input: 'i', profile: [{ ...history.items[0]!, date: '2'.repeat(41) }] },
        'profile[0].date',
      ],
    ] as const) {
      const r = await inject('POST', '/api/users/alice/questions', { payload: [q] });
      expect(r.statusCode, field).toBe(400);
      expect(errorOf(r).message).toMatch(
        new RegExp(
          `^questions file: item 0 \\(id "q1"\\): ${field.replace(/[[\]]/g, '\\$&')}: is \\d+ characters long`,
        ),
      );
    }
    const items = (await inject('GET', '/api/users/alice/items')).json() as { items: unknown[] };
    expect(items.items).toHaveLength(history.items.length);
  });

  it('gives over-long and malformed URLs the one error shape (Fastify answered 414/400 in its own)', async () => {
    const long = await inject('GET', `/api/users/${'a'.repeat(200)}/items`);
    expect(long.statusCode).toBe(414);
    expect(errorOf(long)).toEqual({
      code: 'url_too_long',
      message: 'a part of the URL is longer than 100 characters (user ids have at most 64)',
    });
    const bad = await inject('GET', '/api/users/%E0%A4%A/items');
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).code).toBe('invalid_url');
  });

  it('says which file is broken without saying where the data lives', async () => {
    // A corrupt adapter version on disk: the store's message names the file by its absolute path.
    const dir = join(t.home, 'LaMP_2M', 'adapters', 'alice', 'v0001');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'oppu_meta.json'), '{ not json');
    await writeFile(join(dir, 'adapter_config.json'), '{ not json');
    const res = await inject('GET', '/api/users/alice/adapters/export');
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    const e = errorOf(res);
    expect(e.message).toMatch(/v0001\/(oppu_meta|adapter_config)\.json/);
    expect(e.message).not.toContain(t.home);
    expect(e.message).not.toMatch(/(^|[\s'"(])\/(tmp|home|root|work|var|srv|Users)\//);
    await rm(join(t.home, 'LaMP_2M', 'adapters', 'alice'), { recursive: true, force: true });
    expect(await readdir(join(t.home, 'LaMP_2M'))).toContain('adapters');
  });
});

/** A raw HTTP/1.1 request, so the Host header and the body can be anything. */
function raw(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.end(options.body);
    else if (!options.headers?.['content-length']) req.end();
    else req.flushHeaders(); // headers only: the server must answer before the body arrives
  });
}

describe('listening beyond loopback (--host 0.0.0.0)', () => {
  let port = 0;
  let token = '';
  beforeAll(async () => {
    const address = await t.app.listen({ host: '0.0.0.0', port: 0 });
    port = Number(new URL(address).port);
    const { accessToken } = await import('./access-guard.js');
    token = accessToken(t.app);
    expect(token.length).toBeGreaterThanOrEqual(32);
  });
  const bearer = () => ({ authorization: `Bearer ${token}` });

  it('requires the token on every request, also from this machine', async () => {
    for (const path of ['/api/users', '/api/users/alice/items', '/api/events', '/', '/api/nothing']) {
      const res = await raw(port, path);
      expect(res.status, path).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(errorOf(res)).toEqual({
        code: 'token_required',
        message:
          'this playground needs its access token: open the address it printed at start (it ends in ?token=...), or send "Authorization: Bearer <token>"',
      });
    }
    expect(
      (await raw(port, '/api/users', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status,
    ).toBe(401);
    expect((await raw(port, '/api/users', { method: 'DELETE' })).status).toBe(401);
    const ok = await raw(port, '/api/users', { headers: bearer() });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).users.map((u: { id: string }) => u.id)).toEqual(['alice']);
    expect((await raw(port, `/api/users?token=${token}`)).status).toBe(200);
  });

  it('opening the printed address keeps the token in an HttpOnly cookie and takes it out of the URL', async () => {
    const open = await raw(port, `/?token=${encodeURIComponent(token)}&x=1`);
    expect(open.status).toBe(303);
    expect(open.headers.location).toBe('/?x=1');
    const cookie = String(open.headers['set-cookie']);
    expect(cookie).toMatch(/^oppu_playground_token=[^;]+; Path=\/; HttpOnly; SameSite=Strict$/);
    const jar = cookie.split(';')[0]!;
    const page = await raw(port, '/api/users/alice/items', { headers: { cookie: `other=1; ${jar}` } });
    expect(page.status).toBe(200);
    expect(
      (await raw(port, '/api/users', { headers: { cookie: 'oppu_playground_token=nope' } })).status,
    ).toBe(401);
  });

  it('still refuses foreign Hosts and Origins first, and answers its addresses and name', async () => {
    const evil = await raw(port, '/api/users', { headers: { ...bearer(), host: `evil.example:${port}` } });
    expect(evil.status).toBe(421);
    expect(errorOf(evil).code).toBe('host_not_allowed');
    const foreign = await raw(port, '/api/users', {
      headers: { ...bearer(), origin: 'http://evil.example' },
    });
    expect(foreign.status).toBe(403);
    for (const host of [`10.1.2.3:${port}`, `[fe80::1]:${port}`, `127.0.0.1:${port}`]) {
      expect((await raw(port, '/api/users', { headers: { ...bearer(), host } })).status, host).toBe(200);
    }
  });

  it('refuses an oversized body from its length header, before it is sent', async () => {
    const res = await raw(port, '/api/users/alice/questions', {
      method: 'POST',
      headers: {
        ...bearer(),
        'content-type': 'application/json',
        'content-length': String(100 * 1024 * 1024),
      },
    });
    expect(res.status).toBe(413);
    expect(errorOf(res).code).toBe('body_too_large');
  });

  it("answers requests Node's parser refuses in the same shape (431)", async () => {
    const res = await raw(port, `/api/users/${'a'.repeat(20_000)}`, { headers: bearer() });
    expect(res.status).toBe(431);
    expect(errorOf(res).code).toBe('headers_too_large');
  });
});

describe('helpers', () => {
  it('parses Host headers and knows loopback addresses', () => {
    expect(hostName('LocalHost:4319')).toBe('localhost');
    expect(hostName('[::1]:80')).toBe('::1');
    expect(hostName('example.com.')).toBe('example.com');
    expect(hostName('a b')).toBeUndefined();
    expect(hostName('x@evil.example')).toBeUndefined();
    expect(hostName(undefined)).toBeUndefined();
    for (const a of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1'])
      expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', 'localhost'])
      expect(isLoopbackAddress(a), a).toBe(false);
  });

  it('shortens absolute server paths in messages and keeps URL paths', () => {
    expect(
      publicMessage(
        "ENOENT: no such file or directory, open '/tmp/pg-x/LaMP_2M/adapters/a/v0001/oppu_meta.json'",
      ),
    ).toBe("ENOENT: no such file or directory, open '…/v0001/oppu_meta.json'");
    expect(publicMessage('/usr/me/.oppu/playground/users.json: not valid JSON')).toBe(
      '…/playground/users.json: not valid JSON',
    );
    expect(publicMessage('see file:///home/me/x/y.ts')).toBe('see …/x/y.ts');
    expect(publicMessage('C:\\Users\\me\\oppu\\a.json is locked')).toBe('…/oppu/a.json is locked');
    expect(publicMessage('GET /api/users/x does not exist; http://localhost:4319/api/users')).toBe(
      'GET /api/users/x does not exist; http://localhost:4319/api/users',
    );
    expect(publicMessage('user id in the URL: "../etc/passwd" is not a valid user id')).toBe(
      'user id in the URL: "../etc/passwd" is not a valid user id',
    );
  });
});
