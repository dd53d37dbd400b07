/**
 * LangChain.js's standard chat-model unit tests (`ChatModelUnitTests` of `@langchain/standard-tests`) for
 * OppuChatModel. That package is private to the langchainjs monorepo (`"private": true`, not on npm), so it
 * cannot be a devDependency; its checks are restated here, with the same constructor arguments and the same
 * expectations: the model builds from the standard parameters (also with an API key and streaming), a model that
 * looks like a tool caller (`bindTools` is a function) binds a tool and gives structured output, the LangSmith
 * parameters are exactly the standard six, and an aborted signal stops `invoke` and `stream`. They run on the
 * embedded base model (no chat template: no tools) and on an instruct checkpoint with Qwen2.5's chat template
 * (tool calls: `bindTools` and `withStructuredOutput`, answered from the model's `<tool_call>` format).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { type AIMessageChunk, HumanMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { type GenerateRequest, OppuError } from '@oppu/core';
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
/** A small random checkpoint with Qwen2.5 Instruct's chat template (tool calls in `<tool_call>` blocks). */
let instruct: TestOppu;
let buildInstruct: () => OppuChatModel;

/** The published chat template of Qwen2.5 Instruct (the trainer's fixture). */
const QWEN_TEMPLATE = (
  JSON.parse(
    readFileSync(
      new URL('../../trainer/src/tokenizer/fixtures/chat-templates.json', import.meta.url),
      'utf8',
    ),
  ) as Record<string, { chat_template: string }>
)['Qwen/Qwen2.5-0.5B-Instruct']?.chat_template;

/** Makes the model of `target` answer `text` to every generate call, recording the requests. */
function answerWith(target: TestOppu, text: string) {
  const model = target.engine.model as { generate: (...args: unknown[]) => unknown };
  const original = model.generate;
  const requests: GenerateRequest[] = [];
  model.generate = async (reqs: unknown) => {
    requests.push(...(reqs as GenerateRequest[]));
    return (reqs as GenerateRequest[]).map(() => ({ text, tokens: 1, finishReason: 'stop' }));
  };
  return {
    requests,
    restore: () => {
      model.generate = original;
    },
  };
}
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
  const instructDir = join(root, 'instruct');
  await writeTestCheckpoint(instructDir);
  const configFile = join(instructDir, 'tokenizer_config.json');
  const config = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
  await writeFile(configFile, JSON.stringify({ ...config, chat_template: QWEN_TEMPLATE }));
  instruct = await createTestOppu({ baseModelDir: instructDir });
  buildInstruct = () =>
    new OppuChatModel({
      ...STANDARD_PARAMS,
      service: instruct.service,
      userId: 'alice',
    } as OppuChatModelInput);
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
  await instruct?.close();
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
    }
    // The embedded base model has no chat template, so no tool calls: neither method is there.
    expect(toolCaller).toBe(false);
    expect(model.bindTools).toBeUndefined();
    expect(model.withStructuredOutput).toBeUndefined();
    expect(oppu.engine.model.chatTemplate).toBeUndefined();
  });

  it('an instruct model whose chat template has tool calls binds tools, and its calls come back parsed', async () => {
    const model: BaseChatModel = buildInstruct();
    expect(typeof model.bindTools).toBe('function');
    const bound = model.bindTools?.([personTool]);
    expect(bound).toBeDefined();
    expect(model.withStructuredOutput(person)).toBeDefined();
    // The model answers in Qwen2.5's format; the prompt it was given offered the tool through the template.
    const { requests, restore } = answerWith(
      instruct,
      '<tool_call>\n{"name": "person", "arguments": {"name": "Ann", "age": 31}}\n</tool_call>',
    );
    try {
      expect(await model.withStructuredOutput(person, { name: 'person' }).invoke('Ann is 31.')).toEqual({
        name: 'Ann',
        age: 31,
      });
      const [request] = requests;
      expect(request?.promptFormat).toBe('chat');
      expect(request?.prompt).toContain('# Tools');
      expect(request?.prompt).toContain('"name": "person"');
      expect(
        request?.prompt.endsWith('<|im_start|>user\nAnn is 31.<|im_end|>\n<|im_start|>assistant\n'),
      ).toBe(true);
      const message = await bound?.invoke('Ann is 31.');
      expect(message?.tool_calls).toEqual([
        { type: 'tool_call', id: 'call_0', name: 'person', args: { name: 'Ann', age: 31 } },
      ]);
      expect(requests[1]?.prompt).toContain('"name": "PersonTool"');
      expect(message?.content).toBe('');
    } finally {
      restore();
    }
    // Without tools bound, the same answer is text.
    const { restore: restore2 } = answerWith(instruct, 'Ann is 31 years old.');
    try {
      const plain = await model.invoke('How old is Ann?');
      expect(plain.content).toBe('Ann is 31 years old.');
      expect(plain.tool_calls ?? []).toEqual([]);
    } finally {
      restore2();
    }
    // Tools on a model without tool calls are refused in one line.
    await expect(build().invoke('hi', { tools: [personTool] } as never)).rejects.toThrow(OppuError);
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
