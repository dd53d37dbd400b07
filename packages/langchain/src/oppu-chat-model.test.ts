import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AIMessageChunk } from '@langchain/core/messages';
import { formatLampInput, OppuError, userId } from '@oppu/core';
import { defaultBaseModelDir, writeTestCheckpoint } from '@oppu/node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestOppu, type TestOppu } from './create-test-oppu.js';
import { OppuChatModel } from './oppu-chat-model.js';

const aliceItems = [
  { id: 'a1', text: 'the cat sat on the mat' },
  { id: 'a2', text: 'the cat sat here' },
  { id: 'a3', text: 'a cat sat on a mat' },
];
const bobItems = [
  { id: 'b1', text: 'hello world the dog ran' },
  { id: 'b2', text: 'a dog ran here stop' },
];
const carolItems = [{ id: 'c1', text: 'hello the mat' }];
const taskInput = (text: string) => formatLampInput('LaMP_7', { text });

let root: string;
let oppu: TestOppu;
let model: OppuChatModel;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-lc-'));
  // The embedded tiny model when this checkout has it built, else a small random checkpoint (same engine).
  let baseModelDir: string | undefined;
  if (!existsSync(join(defaultBaseModelDir(), 'config.json'))) {
    baseModelDir = join(root, 'model');
    await writeTestCheckpoint(baseModelDir);
  }
  oppu = await createTestOppu({
    users: { alice: aliceItems, bob: bobItems, carol: carolItems },
    train: ['alice', 'bob'],
    training: { maxSteps: 3, learningRate: 3e-2, seed: 1 },
    ...(baseModelDir ? { baseModelDir } : {}),
  });
  model = oppu.model;
});
afterAll(async () => {
  await oppu?.close();
  await rm(root, { recursive: true, force: true });
});

const text = (m: AIMessageChunk | Error) => {
  if (m instanceof Error) throw m;
  return m.content as string;
};

describe('OppuChatModel', () => {
  it("answers a task question exactly as service.ask, with the user's adapter, history and profile", async () => {
    for (const user of ['alice', 'bob', 'carol']) {
      const input = taskInput('the dog sat on the mat');
      const ask = await oppu.service.ask(userId(user), input);
      const out = await model.invoke(input, { userId: user });
      expect(out.content).toBe(ask.text);
      expect(out.response_metadata).toMatchObject({
        user_id: user,
        method: ask.method,
        question: 'task',
        retrieved: ask.retrieved.map((item) => item.id),
      });
      expect(out.response_metadata.adapter_version).toBe(ask.adapterVersion);
      const tokenize = oppu.engine.model.tokenize.bind(oppu.engine.model);
      expect(out.usage_metadata).toEqual({
        input_tokens: tokenize(ask.prompt).length,
        output_tokens: ask.text ? tokenize(ask.text).length : 0,
        total_tokens: tokenize(ask.prompt).length + (ask.text ? tokenize(ask.text).length : 0),
      });
    }
    // alice and bob have adapters (oppu+pag), carol has history only (pag).
    expect((await model.invoke(taskInput('a cat'), { userId: 'alice' })).response_metadata.method).toBe(
      'oppu+pag',
    );
    expect((await model.invoke(taskInput('a cat'), { userId: 'carol' })).response_metadata.method).toBe(
      'pag',
    );
  });

  it('puts the profile and retrieved history before a chat question, per the rag/pag/k settings', async () => {
    const spy = vi.spyOn(oppu.engine.model, 'generate');
    try {
      const profile = (await oppu.service.profile(userId('alice')))!.text;
      const answered = await model.invoke('the cat', { userId: 'alice' });
      const prompt = spy.mock.calls.at(-1)![0][0]!.prompt;
      const [id] = answered.response_metadata.retrieved as string[];
      const line = oppu.service.task.historyLine(aliceItems.find((item) => item.id === id)!);
      expect(prompt).toBe(`${profile}\n${line}\nthe cat`);

      await model.invoke('the cat', { userId: 'alice', rag: false, pag: false });
      expect(spy.mock.calls.at(-1)![0][0]!.prompt).toBe('the cat');
      const profileOnly = await model.invoke('the cat', { userId: 'alice', rag: false, pag: true });
      expect(spy.mock.calls.at(-1)![0][0]!.prompt).toBe(`${profile}\nthe cat`);
      expect(profileOnly.response_metadata).toMatchObject({ method: 'oppu+pag', retrieved: [] });
      const out = await model.invoke('the cat', { userId: 'alice', pag: false, k: 2 });
      expect(out.response_metadata.method).toBe('oppu+rag');
      expect(out.response_metadata.retrieved).toHaveLength(2);
      const base = await model.invoke('the cat', { userId: 'alice', method: 'base' });
      expect(spy.mock.calls.at(-1)![0][0]!.adapter).toBeUndefined();
      expect(base.response_metadata.adapter_version).toBeUndefined();
    } finally {
      spy.mockRestore();
    }
  });

  it('takes the user from the call option, else configurable.userId, else the constructor', async () => {
    const input = taskInput('hello world');
    const bob = await oppu.service.ask(userId('bob'), input);
    expect((await model.invoke(input, { configurable: { userId: 'bob' } })).content).toBe(bob.text);
    const both = await model.invoke(input, { userId: 'alice', configurable: { userId: 'bob' } });
    expect(both.response_metadata.user_id).toBe('alice');
    const bound = model.withConfig({ configurable: { userId: 'bob' } });
    expect((await bound.invoke(input)).content).toBe(bob.text);
    const bobsModel = new OppuChatModel({ service: oppu.service, userId: 'bob' });
    expect((await bobsModel.invoke(input)).content).toBe(bob.text);
    await expect(model.invoke(input)).rejects.toMatchObject({ name: 'OppuError', code: 'no_user' });
    await expect(model.invoke(input, { userId: '../etc' })).rejects.toBeInstanceOf(OppuError);
  });

  it('batch over users makes one generate call and returns what the inputs return one by one', async () => {
    const inputs = [
      'the cat sat',
      'hello world',
      'a dog',
      taskInput('the mat'),
      taskInput('the dog'),
      taskInput('hello'),
    ];
    const users = ['alice', 'bob', 'carol', 'bob', 'carol', 'alice'];
    const one = [];
    for (let i = 0; i < inputs.length; i++) one.push(await model.invoke(inputs[i]!, { userId: users[i] }));
    const spy = vi.spyOn(oppu.engine.model, 'generate');
    try {
      // Chat questions share their sampling settings, and so do task questions: one call for each kind.
      const chat = await model.batch(
        inputs.slice(0, 3),
        users.slice(0, 3).map((u) => ({ configurable: { userId: u } })),
      );
      expect(spy).toHaveBeenCalledTimes(1);
      const requests = spy.mock.calls[0]![0];
      expect(requests).toHaveLength(3);
      expect(requests[0]!.adapter).toBeDefined();
      expect(requests[1]!.adapter).toBeDefined();
      expect(requests[0]!.adapter).not.toBe(requests[1]!.adapter);
      expect(requests[2]!.adapter).toBeUndefined(); // carol has no adapter yet
      const tasks = await model.batch(
        inputs.slice(3),
        users.slice(3).map((u) => ({ userId: u })),
      );
      expect(spy).toHaveBeenCalledTimes(2);
      expect([...chat, ...tasks].map(text)).toEqual(one.map(text));
      expect([...chat, ...tasks].map((m) => (m as AIMessageChunk).response_metadata.user_id)).toEqual(users);
    } finally {
      spy.mockRestore();
    }
  });

  it('batch: an input that fails does not hold up the others, and maxConcurrency splits the call', async () => {
    const spy = vi.spyOn(oppu.engine.model, 'generate');
    try {
      const out = await model.batch(
        ['the cat', 'the cat', 'the dog'],
        [{ userId: 'alice' }, {}, { userId: 'bob' }],
        {
          returnExceptions: true,
        },
      );
      expect(out[1]).toBeInstanceOf(OppuError);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0]![0]).toHaveLength(2);
      expect(text(out[0]!)).toBe((await model.invoke('the cat', { userId: 'alice' })).content);
      spy.mockClear();
      await model.batch(['a', 'b', 'c'], { userId: 'bob', maxConcurrency: 2 });
      expect(spy.mock.calls.map((c) => c[0].length)).toEqual([2, 1]);
    } finally {
      spy.mockRestore();
    }
  });

  it('streams token by token through callbacks; the streamed text is the invoked text', async () => {
    const invoked = await model.invoke('the cat sat', { userId: 'alice', maxTokens: 16 });
    const tokens: string[] = [];
    const chunks: string[] = [];
    let last: AIMessageChunk | undefined;
    const stream = await model.stream('the cat sat', {
      userId: 'alice',
      maxTokens: 16,
      callbacks: [{ handleLLMNewToken: (token: string) => void tokens.push(token) }],
    });
    for await (const chunk of stream) {
      chunks.push(chunk.content as string);
      last = last ? last.concat(chunk) : chunk;
    }
    expect(chunks.join('')).toBe(invoked.content);
    expect(tokens.join('')).toBe(invoked.content);
    expect(tokens.length).toBeGreaterThan(1);
    expect(last!.usage_metadata).toMatchObject(invoked.usage_metadata!);
    expect(last!.response_metadata).toMatchObject({
      user_id: 'alice',
      method: invoked.response_metadata.method,
    });
  });

  it('honours stop sequences (call and constructor) and maxTokens, in invoke and stream', async () => {
    const full = (await model.invoke('hello world', { userId: 'bob', maxTokens: 24 })).content as string;
    expect(full.length).toBeGreaterThan(4);
    const stop = full.slice(2, 4);
    const expected = full.slice(0, full.indexOf(stop));
    expect((await model.invoke('hello world', { userId: 'bob', maxTokens: 24, stop: [stop] })).content).toBe(
      expected,
    );
    const stopping = new OppuChatModel({ service: oppu.service, stop: [stop], maxTokens: 24 });
    let streamed = '';
    for await (const chunk of await stopping.stream('hello world', { userId: 'bob' }))
      streamed += chunk.content;
    expect(streamed).toBe(expected);

    const short = await model.invoke('hello world', { userId: 'bob', maxTokens: 3 });
    expect(short.response_metadata.finish_reason).toBe('length');
    expect(full.startsWith(short.content as string)).toBe(true);
    expect((short.content as string).length).toBeLessThan(full.length);
  });

  it('passes temperature, topK, topP and seed to the base model; a seed makes sampling repeatable', async () => {
    const spy = vi.spyOn(oppu.engine.model, 'generate');
    try {
      const options = { userId: 'alice', temperature: 1.5, topK: 20, topP: 0.95, seed: 11, maxTokens: 12 };
      const a = await model.invoke('the cat', options);
      const b = await model.invoke('the cat', options);
      expect(spy.mock.calls[0]![1]).toMatchObject({
        temperature: 1.5,
        topK: 20,
        topP: 0.95,
        seed: 11,
        maxNewTokens: 12,
      });
      expect(a.content).toBe(b.content);
      const sampled = new OppuChatModel({ service: oppu.service, temperature: 0.7, topK: 3 });
      await sampled.invoke('the cat', { userId: 'alice', seed: 1 });
      expect(spy.mock.calls[2]![1]).toMatchObject({ temperature: 0.7, topK: 3, seed: 1 });
    } finally {
      spy.mockRestore();
    }
  });

  it('stops on an AbortSignal, before and while generating', async () => {
    const early = new AbortController();
    early.abort();
    await expect(model.invoke('the cat', { userId: 'alice', signal: early.signal })).rejects.toThrow(
      /abort/i,
    );
    const midway = new AbortController();
    const stream = await model.stream('the cat', { userId: 'alice', maxTokens: 64, signal: midway.signal });
    const consume = async () => {
      for await (const _chunk of stream) midway.abort();
    };
    await expect(consume()).rejects.toThrow(/abort/i);
  });

  it('batch: an input aborted while the shared call runs is rejected; the call goes on for the others', async () => {
    const stopped = new AbortController();
    const model_ = oppu.engine.model;
    const real = model_.generate.bind(model_);
    let shared: AbortSignal | undefined;
    const spy = vi.spyOn(model_, 'generate').mockImplementation(async (requests, options) => {
      shared = options?.signal;
      stopped.abort();
      return real(requests, options);
    });
    try {
      const out = await model.batch(
        ['the cat', 'the dog'],
        [
          { userId: 'alice', signal: stopped.signal },
          { userId: 'bob', signal: new AbortController().signal },
        ],
        { returnExceptions: true },
      );
      expect(spy).toHaveBeenCalledTimes(1);
      expect(out[0]).toBeInstanceOf(Error);
      expect(String(out[0])).toMatch(/abort/i);
      expect(shared?.aborted).toBe(false); // bob's request still needed the call
      spy.mockRestore();
      expect(text(out[1]!)).toBe((await model.invoke('the dog', { userId: 'bob' })).content);
    } finally {
      spy.mockRestore();
    }
  });

  it('on a base model (no chat template with tool calls) has neither bindTools nor withStructuredOutput', () => {
    // Capability probes (LangChain's agents, the standard tests) read a bindTools method as tool calling.
    expect(model.bindTools).toBeUndefined();
    expect(model.withStructuredOutput).toBeUndefined();
  });

  it('describes itself for tracing and caching', () => {
    expect(model._llmType()).toBe('oppu');
    expect(OppuChatModel.lc_name()).toBe('OppuChatModel');
    expect(model._identifyingParams()).toMatchObject({
      model_name: oppu.engine.model.info.name,
      task: 'LaMP_7',
    });
    expect(model.invocationParams({ temperature: 0.3 } as never)).toMatchObject({ temperature: 0.3 });
    expect(model.getLsParams({} as never)).toMatchObject({ ls_provider: 'oppu', ls_model_type: 'chat' });
  });
});
