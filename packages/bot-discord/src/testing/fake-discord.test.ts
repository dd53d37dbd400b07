import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDiscord } from './fake-discord.js';

let discord: FakeDiscord;
beforeAll(async () => {
  discord = await FakeDiscord.start();
});
afterAll(async () => {
  await discord.close();
});

function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the fake Discord answers only its own process', () => {
  it('refuses a foreign Host (DNS rebinding) and requests from web pages; serves its own', async () => {
    const file = discord.addFile('a.txt', new TextEncoder().encode('hello'));
    const host = new URL(discord.origin).host;
    expect(await get(file.url, { host })).toEqual({ status: 200, body: 'hello' });
    const rebound = await get(file.url, { host: `evil.example:${new URL(discord.origin).port}` });
    expect(rebound.status).toBe(421);
    expect(JSON.parse(rebound.body).message).toMatch(/^Host "evil\.example:\d+" is not this server/);
    expect((await get(`${discord.api}/v10/users/@me`, { host, origin: 'http://evil.example' })).status).toBe(
      403,
    );
    expect(discord.requests).toHaveLength(0);
    expect(file.requests).toBe(1);
  });
});
