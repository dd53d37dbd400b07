/**
 * LangChain.js's standard chat-model unit tests (`ChatModelUnitTests` of `@langchain/standard-tests`) for
 * OppuChatModel. That package is private to the langchainjs monorepo (`"private": true`, not on npm), so it
 * cannot be a devDependency; its checks are restated here, with the same constructor arguments and the same
 * expectations: the model builds from the standard parameters (also with an API key and streaming), a model that
 * looks like a tool caller (`bindTools` is a function) binds a tool and gives structured output, the LangSmith
 * parameters are exactly the standard six, and an aborted signal stops `invoke` and `stream`.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { type AIMessageChunk, HumanMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { OppuError } from '@oppu/core';
import { defaultBaseModelDir, writeTestCheckpoint } from '@oppu/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestOppu, type TestOppu } from './create-test-oppu.js';
import { OppuChatModel, type OppuChatModelInput } from './oppu-chat-model.js';

/** What the standard unit tests pass to every chat model's constructor (besides its own arguments). */
const STANDARD_PARAMS = { temperature: 0, maxTokens: 100, timeout: 60, stopSequences: [], maxRetries: 2 };

/** The LangSmith parameters every chat model reports (`expectedLsParams` of the standard tests). */
const STANDARD_LS_KEYS = [
  'ls_max_tokens',
  'ls_model_name',
  'ls_model_type',
  'ls_provider',
  'ls_stop',
  'ls_temperature',
];

const person = {
  type: 'object',
  title: 'person',
  description: 'A person',
  properties: {
    name: { type: 'string', description: 'Name of the person' },
    age: { type: 'integer', minimum: 1, description: 'Age of the person' },
  },
  required: ['name', 'age'],
};
const personTool = tool(async (input) => JSON.stringify(input), {
  name: 'PersonTool',
  description: 'A person',
  schema: person,
});

let root: string;
let oppu: TestOppu;
/** A model built as the standard tests build one: the standard parameters, then `extra`. */
let build: (extra?: Record<string, unknown>) => OppuChatModel;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-lc-std-'));
  // The embedded tiny model when this checkout has it built, else a small random checkpoint (same engine).
  let baseModelDir: string | undefined;
  if (!existsSync(join(defaultBaseModelDir(), 'config.json'))) {
    baseModelDir = join(root, 'model');
    await writeTestCheckpoint(baseModelDir);
  }
  oppu = await createTestOppu({ ...(baseModelDir ? { baseModelDir } : {}) });
  build = (extra = {}) =>
    new OppuChatModel({
      ...STANDARD_PARAMS,
      ...extra,
      service: oppu.service,
      userId: 'alice',
    } as OppuChatModelInput);
});
afterAll(async () => {
  await oppu?.close();
  await rm(root, { recursive: true, force: true });
});

describe('ChatModelUnitTests (LangChain standard tests) on OppuChatModel', () => {
  it('initializes from the standard parameters, with an API key, and with streaming', () => {
    expect(build()).toBeInstanceOf(OppuChatModel);
    expect(build({ apiKey: 'test' })).toBeInstanceOf(OppuChatModel);
    expect(build({ streaming: true })).toBeInstanceOf(OppuChatModel);
  });

  it('binds tools and gives structured output when it looks like a tool caller, and does not look like one otherwise', () => {
    const model: BaseChatModel = build();
    // How the standard tests, LangChain's agents and users' code tell a tool-calling model.
    const toolCaller = typeof model.bindTools === 'function';
    if (toolCaller) {
      expect(model.bindTools?.([personTool])).toBeDefined();
      expect(model.withStructuredOutput(person)).toBeDefined();
    } else {
      expect('bindTools' in model).toBe(false);
      expect(() => model.withStructuredOutput(person)).toThrow(OppuError);
      expect(() => model.withStructuredOutput(person)).toThrow(/cannot call tools/);
    }
    // The embedded base model's prompts have no tool calls (it was never trained to make them).
    expect(toolCaller).toBe(false);
  });

  it('returns exactly the standard LangSmith parameters', () => {
    const model = build();
    const params = model.getLsParams({} as never);
    expect(Object.keys(params).sort()).toEqual(STANDARD_LS_KEYS);
    expect(params).toEqual({
      ls_provider: 'oppu',
      ls_model_name: oppu.engine.model.info.name,
      ls_model_type: 'chat',
      ls_temperature: 0,
      ls_max_tokens: 100,
      ls_stop: [],
    });
  });

  it('reports the stop sequences of the constructor and of the call in ls_stop and the identifying parameters', () => {
    const model = build({ stop: ['###', '\n\n'] });
    expect(model.getLsParams({} as never).ls_stop).toEqual(['###', '\n\n']);
    expect(model.getLsParams({ stop: ['END', '###'] } as never).ls_stop).toEqual(['###', '\n\n', 'END']);
    expect(model._identifyingParams()).toMatchObject({ stop: ['###', '\n\n'] });
    expect(build()._identifyingParams()).not.toHaveProperty('stop');
  });

  it('invoke rejects when the signal is already aborted', async () => {
    const model: BaseChatModel = build();
    await expect(
      model.invoke([new HumanMessage('hello')], { signal: AbortSignal.abort() }),
    ).rejects.toThrow();
  });

  it('stream with an already aborted signal throws or yields nothing', async () => {
    const model: BaseChatModel = build();
    const chunks: AIMessageChunk[] = [];
    let threw = false;
    try {
      for await (const chunk of await model.stream([new HumanMessage('hello')], {
        signal: AbortSignal.abort(),
      }))
        chunks.push(chunk);
    } catch {
      threw = true;
    }
    expect(threw || chunks.length === 0).toBe(true);
    expect(chunks).toEqual([]);
  });
});
