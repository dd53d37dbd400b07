import { userId } from '@oppu/core';
import { describe, expect, it } from 'vitest';
import { HistoryStore } from './history-store.js';
import { ExtractiveProfileSummarizer } from './profiles/extractive-summarizer.js';
import { UserMemory } from './user-memory.js';

const alice = userId('alice');
const bob = userId('bob');

describe('UserMemory profiles follow item removal', () => {
  it('rebuilds the profile from the items left, and removes it with the last one', async () => {
    const store = new HistoryStore(':memory:');
    const memory = new UserMemory({
      store,
      embeddings: null,
      profile: { summarizer: new ExtractiveProfileSummarizer(), task: 'LaMP_7' },
    });
    await memory.add(alice, [
      { id: 'a1', text: 'zebra zebra zebra stripes' },
      { id: 'a2', text: 'quokka quokka smiles' },
    ]);
    await memory.add(bob, [{ id: 'b1', text: 'bob keeps his profile' }]);
    expect(memory.profile(alice)?.text).toMatch(/zebra/);
    await memory.remove(alice, ['a1']);
    expect(memory.profile(alice)?.itemCount).toBe(1);
    expect(memory.profile(alice)?.text).not.toMatch(/zebra/);
    await memory.remove(alice, ['a2']);
    expect(memory.profile(alice)).toBeUndefined();
    expect(store.getProfile(alice, 'LaMP_7')).toBeUndefined();
    expect(store.users()).toEqual([bob]); // nothing of alice's is left in the store
    expect(memory.profile(bob)?.itemCount).toBe(1);
  });

  it('HistoryStore.deleteProfile removes one task profile of one user', () => {
    const store = new HistoryStore(':memory:');
    const profile = (u: typeof alice) => ({
      userId: u,
      text: `${u} likes x`,
      itemCount: 1,
      updatedAt: '2024-01-01T00:00:00.000Z',
    });
    store.putProfile(profile(alice), 'LaMP_7');
    store.putProfile(profile(alice), 'LaMP_4');
    store.putProfile(profile(bob), 'LaMP_7');
    store.deleteProfile(alice, 'LaMP_7');
    expect(store.getProfile(alice, 'LaMP_7')).toBeUndefined();
    expect(store.getProfile(alice, 'LaMP_4')?.text).toBe('alice likes x');
    expect(store.getProfile(bob, 'LaMP_7')?.text).toBe('bob likes x');
  });
});
