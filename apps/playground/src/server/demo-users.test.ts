import { LAMP_2M_TAGS } from '@oppu/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestPlayground, testPlayground } from '../testing.js';

/** What a visitor sees on the users page: each demo user's stated preferences next to their history. */
let t: TestPlayground;

beforeAll(async () => {
  t = await testPlayground();
});
afterAll(async () => {
  await t?.close();
});

describe('demo users', () => {
  it('describe the preferences that their history on screen shows: the most frequent tags are the favourites named', async () => {
    // The demo users as a first start creates them (default options), without training.
    const created = await t.playground.seedDemoUsers({ train: false });
    expect(created.map((u) => u.id)).toEqual(['ada', 'ben', 'cleo']);
    const users = (await t.app.inject({ method: 'GET', url: '/api/users' })).json().users as {
      id: string;
      demo?: { description: string };
    }[];
    for (const id of ['ada', 'ben', 'cleo']) {
      const description = users.find((u) => u.id === id)!.demo!.description;
      const favourites = /^favours (.+?), then /.exec(description)?.[1]?.split(' > ');
      expect(favourites, `${id}: "${description}" names no favourite tags`).toBeDefined();
      for (const tag of favourites!) expect(LAMP_2M_TAGS).toContain(tag);

      const items = (await t.app.inject({ method: 'GET', url: `/api/users/${id}/items` })).json().items as {
        tag: string;
      }[];
      expect(items.length).toBeGreaterThanOrEqual(8);
      const counts = new Map<string, number>();
      for (const item of items) counts.set(item.tag, (counts.get(item.tag) ?? 0) + 1);
      const most = Math.max(...counts.values());
      const shown = [...counts].map(([tag, n]) => `${tag} x${n}`).join(', ');
      const top = [...counts].filter(([, n]) => n === most).map(([tag]) => tag);
      for (const tag of top) {
        expect(favourites, `${id}: "${description}" but the history shows ${shown}`).toContain(tag);
      }
      const favouriteItems = items.filter((item) => favourites!.includes(item.tag)).length;
      expect(favouriteItems / items.length, `${id}: ${shown}`).toBeGreaterThan(0.5);
    }
  });
});
