import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryCache } from '@langchain/core/caches';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { RunnableSequence } from '@langchain/core/runnables';
import { userId } from '@oppu/core';
import { defaultBaseModelDir, writeTestCheckpoint } from '@oppu/node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOppuChain, serviceMemory } from './create-oppu-chain.js';
import { createTestOppu, type TestOppu } from './create-test-oppu.js';
import { OppuChatModel } from './oppu-chat-model.js';

const users = {
  alice: [
    { id: 'a1', text: 'the cat sat on the mat' },
    { id: 'a2', text: 'the cat sat here' },
    { id: 'a3', text: 'a cat ran on a mat' },
  ],
  bob: [
    { id: 'b1', text: 'hello world the dog ran' },
    { id: 'b2', text: 'a dog ran here stop' },
  ],
};

let root: string;
let oppu: TestOppu;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-lc-chain-'));
  let baseModelDir: string | undefined;
  if (!existsSync(join(defaultBaseModelDir(), 'config.json'))) {
    baseModelDir = join(root, 'model');
    await writeTestCheckpoint(baseModelDir);
  }
  oppu = await createTestOppu({
    users,
    train: true,
    training: { maxSteps: 2, seed: 2 },
    model: { maxTokens: 12 },
    ...(baseModelDir ? { baseModelDir } : {}),
  });
});
afterAll(async () => {
  await oppu?.close();
  await rm(root, { recursive: true, force: true });
});

const asUser = (user: string) => ({ configurable: { userId: user } });

describe('OppuChatModel in runnables', () => {
  it('works in RunnableSequence.from([prompt, model, StringOutputParser]) with invoke, pipe, stream and batch', async () => {
    const prompt = ChatPromptTemplate.fromMessages([['human', 'the {animal} sat']]);
    const chain = RunnableSequence.from([prompt, oppu.model, new StringOutputParser()]);
    const piped = prompt.pipe(oppu.model).pipe(new StringOutputParser());
    const direct = (await oppu.model.invoke('the cat sat', { userId: 'alice' })).content;
    expect(await chain.invoke({ animal: 'cat' }, asUser('alice'))).toBe(direct);
    expect(await piped.invoke({ animal: 'cat' }, asUser('alice'))).toBe(direct);

    const pieces: string[] = [];
    for await (const piece of await chain.stream({ animal: 'cat' }, asUser('alice'))) pieces.push(piece);
    expect(pieces.join('')).toBe(direct);
    expect(pieces.filter((p) => p.length > 0).length).toBeGreaterThan(1);

    const spy = vi.spyOn(oppu.engine.model, 'generate');
    try {
      const out = await chain.batch(
        [{ animal: 'cat' }, { animal: 'dog' }, { animal: 'dog' }],
        [asUser('alice'), asUser('bob'), asUser('alice')],
      );
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0]![0]).toHaveLength(3);
      spy.mockRestore();
      expect(out).toEqual([
        direct,
        await piped.invoke({ animal: 'dog' }, asUser('bob')),
        await piped.invoke({ animal: 'dog' }, asUser('alice')),
      ]);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('OppuChatModel with LangChain features', () => {
  it('streams events (streamEvents v2) token by token for the user in configurable', async () => {
    const direct = (await oppu.model.invoke('the dog ran', { userId: 'bob' })).content;
    const pieces: string[] = [];
    for await (const event of oppu.model.streamEvents('the dog ran', { version: 'v2', ...asUser('bob') })) {
      if (event.event === 'on_chat_model_stream') pieces.push(event.data.chunk.content as string);
    }
    expect(pieces.join('')).toBe(direct);
    expect(pieces.filter((p) => p.length > 0).length).toBeGreaterThan(1);
  });

  it("keeps LangChain's response cache per user", async () => {
    const cached = new OppuChatModel({ service: oppu.service, cache: new InMemoryCache(), maxTokens: 8 });
    const spy = vi.spyOn(oppu.engine.model, 'generate');
    try {
      const first = await cached.invoke('the cat', asUser('alice'));
      const again = await cached.invoke('the cat', asUser('alice'));
      expect(spy).toHaveBeenCalledTimes(1);
      expect(again.content).toBe(first.content);
      const bob = await cached.invoke('the cat', asUser('bob'));
      expect(spy).toHaveBeenCalledTimes(2);
      expect(bob.response_metadata.user_id).toBe('bob');
    } finally {
      spy.mockRestore();
    }
  });
});

describe('createOppuChain', () => {
  it("fills OPPU's prompt with the user's profile and retrieved history, and answers with their adapter", async () => {
    const chain = createOppuChain(oppu.service, { k: 2 });
    const spy = vi.spyOn(oppu.engine.model, 'generate');
    try {
      const answer = await chain.invoke('the cat', asUser('alice'));
      const request = spy.mock.calls[0]![0][0]!;
      const profile = (await oppu.service.profile(userId('alice')))!.text;
      const hits = await oppu.service.search(userId('alice'), 'the cat', 2);
      const context = hits.map((h) => oppu.service.task.historyLine(h.item)).join('');
      expect(request.prompt).toBe(`${profile}\n${context}\nthe cat`);
      expect(request.adapter).toBeDefined();
      // The same prompt sent to the model directly, adapter only, gives the same answer.
      const adapterOnly = new OppuChatModel({ service: oppu.service, rag: false, pag: false, input: 'chat' });
      expect((await adapterOnly.invoke(request.prompt, { userId: 'alice' })).content).toBe(answer);
      expect(await chain.invoke({ question: 'the cat' }, asUser('alice'))).toBe(answer);
    } finally {
      spy.mockRestore();
    }
  });

  it('streams, batches across users in one generate call, and keeps each user to their own data', async () => {
    const chain = createOppuChain(oppu.service, { k: 1 });
    const single = [
      await chain.invoke('the dog', asUser('alice')),
      await chain.invoke('the dog', asUser('bob')),
    ];
    let streamed = '';
    for await (const piece of await chain.stream('the dog', asUser('bob'))) streamed += piece;
    expect(streamed).toBe(single[1]);

    const spy = vi.spyOn(oppu.engine.model, 'generate');
    try {
      expect(await chain.batch(['the dog', 'the dog'], [asUser('alice'), asUser('bob')])).toEqual(single);
      expect(spy).toHaveBeenCalledTimes(1);
      const [alicePrompt, bobPrompt] = spy.mock.calls[0]![0].map((r) => r.prompt);
      for (const item of users.alice) expect(bobPrompt).not.toContain(item.text);
      for (const item of users.bob) expect(alicePrompt).not.toContain(item.text);
    } finally {
      spy.mockRestore();
    }
  });

  it('takes its options: profile off, a custom prompt, a default user; and says when no user is given', async () => {
    const prompt = ChatPromptTemplate.fromMessages([['human', 'Q: {question}\n{context}{profile}A:']]);
    const chain = createOppuChain(oppu.service, { prompt, profile: false, userId: 'bob', k: 1 });
    const spy = vi.spyOn(oppu.engine.model, 'generate');
    try {
      await chain.invoke('hello');
      const sent = spy.mock.calls[0]![0][0]!.prompt;
      const [hit] = await oppu.service.search(userId('bob'), 'hello', 1);
      expect(sent).toBe(`Q: hello\n${oppu.service.task.historyLine(hit!.item)}\nA:`);
    } finally {
      spy.mockRestore();
    }
    await expect(createOppuChain(oppu.service).invoke('hello')).rejects.toMatchObject({ code: 'no_user' });
    await expect(createOppuChain(oppu.service).invoke(42 as never, asUser('bob'))).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it("serviceMemory reads and writes the user's history through the service", async () => {
    const memory = serviceMemory(oppu.service);
    await memory.add(userId('bob'), [{ id: 'b3', text: 'the dog sat here' }]);
    expect((await oppu.service.items(userId('bob'))).map((i) => i.id)).toContain('b3');
    const hits = await memory.retrieve(userId('bob'), 'dog sat', { k: 1 });
    expect(hits[0]!.item.id).toBe('b3');
    await memory.remove(userId('bob'), ['b3']);
    expect((await oppu.service.items(userId('bob'))).map((i) => i.id)).not.toContain('b3');
    await expect(memory.retrieve(userId('bob'), 'dog', { before: '2020' })).rejects.toMatchObject({
      code: 'unsupported_filter',
    });
    await expect(memory.clear(userId('bob'))).rejects.toMatchObject({ code: 'unsupported_clear' });
  });
});
