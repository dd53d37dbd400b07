import { Template } from '@huggingface/jinja';
import {
  type ChatMessage,
  type ChatRenderOptions,
  type ChatTemplate,
  type ChatToolCall,
  OppuError,
  type ParsedToolCalls,
  type ToolCallFormat,
} from '@oppu/core';

export interface HfChatTemplateOptions {
  /** `bos_token` as the template reads it (e.g. `<|begin_of_text|>`); default the empty string. */
  readonly bosToken?: string;
  /** `eos_token` as the template reads it (e.g. `</s>`); default the empty string. */
  readonly eosToken?: string;
  /**
   * The tokenizer's special-token strings. Inside a message's content (a user's text, a retrieved history item)
   * each is broken by a word joiner (U+2060) after its first character, so a text cannot write the template's
   * control tokens (`<|im_end|>`) when the rendered prompt is tokenized with its special tokens.
   */
  readonly specialTokens?: readonly string[];
}

/** The word joiner put inside a special-token string found in a message's content. */
const JOINER = '\u2060';

/**
 * A `tokenizer_config.json` `chat_template` rendered with @huggingface/jinja (the engine transformers.js uses),
 * as HF's `apply_chat_template` renders it: `messages` (role, content, `tool_calls`, `tool_call_id`, `name`),
 * `add_generation_prompt`, `bos_token`, `eos_token`, `tools` (as `{type: 'function', function: {...}}`), and
 * `raise_exception` (a template's own check, thrown as an OppuError). A template with several named variants
 * (a list of `{name, template}`) renders its `default`, or `tool_use` when tools are given and it has one.
 *
 * `toolCalls` is the tool-call format the template writes (Qwen2.5's `<tool_call>` blocks, Llama 3.1's JSON,
 * Mistral v0.3's `[TOOL_CALLS]`); undefined when the template has no tools or writes calls in a form not read
 * here. `parseToolCalls` reads that format back from a generated answer.
 */
export class HfChatTemplate implements ChatTemplate {
  readonly toolCalls?: ToolCallFormat;
  /** The template's source (its `default` variant). */
  readonly source: string;
  private readonly variants: ReadonlyMap<string, Template>;
  private readonly main: Template;
  private readonly options: HfChatTemplateOptions;

  constructor(
    chatTemplate: string | readonly { name: string; template: string }[],
    options: HfChatTemplateOptions = {},
  ) {
    const named =
      typeof chatTemplate === 'string' ? [{ name: 'default', template: chatTemplate }] : chatTemplate;
    const variants = new Map<string, Template>();
    for (const [i, v] of named.entries()) {
      if (typeof v?.name !== 'string' || typeof v.template !== 'string')
        throw new OppuError(
          'invalid_chat_template',
          `chat_template: entry ${i} has no string "name" and "template"`,
        );
      try {
        variants.set(v.name, new Template(v.template));
      } catch (error) {
        throw new OppuError(
          'invalid_chat_template',
          `chat_template${named.length > 1 ? ` "${v.name}"` : ''}: cannot be parsed (${(error as Error).message})`,
          { cause: error },
        );
      }
    }
    const main = named.find((v) => v.name === 'default') ?? named[0];
    if (!main) throw new OppuError('invalid_chat_template', 'chat_template: is an empty list');
    this.source = main.template;
    this.main = variants.get(main.name) as Template;
    this.variants = variants;
    this.options = options;
    const toolSource = named.find((v) => v.name === 'tool_use')?.template ?? main.template;
    const format = toolCallFormat(toolSource);
    if (format) this.toolCalls = format;
  }

  /**
   * The chat template of a `tokenizer_config.json` (its `chat_template`, with its `bos_token`/`eos_token`), or
   * undefined when it has none (a base model).
   */
  static fromTokenizerConfig(
    config: Readonly<Record<string, unknown>>,
    specialTokens: readonly string[] = [],
  ): HfChatTemplate | undefined {
    const template = config.chat_template;
    if (template === undefined || template === null) return undefined;
    if (typeof template !== 'string' && !Array.isArray(template))
      throw new OppuError(
        'invalid_chat_template',
        'tokenizer_config.json: chat_template is neither a string nor a list of {name, template}',
      );
    const bos = tokenString(config.bos_token);
    const eos = tokenString(config.eos_token);
    return new HfChatTemplate(template as string | { name: string; template: string }[], {
      ...(bos !== undefined ? { bosToken: bos } : {}),
      ...(eos !== undefined ? { eosToken: eos } : {}),
      specialTokens,
    });
  }

  render(messages: readonly ChatMessage[], options: ChatRenderOptions = {}): string {
    const tools = options.tools ?? [];
    if (tools.length > 0 && !this.toolCalls)
      throw new OppuError(
        'tools_unsupported',
        'chat_template: has no tool calls this package reads (Qwen2.5, Llama 3.1/3.2, Mistral v0.3 formats); render without tools',
      );
    const variant = (tools.length > 0 ? this.variants.get('tool_use') : undefined) ?? this.main;
    const context: Record<string, unknown> = {
      messages: messages.map((m, i) => this.message(m, i)),
      add_generation_prompt: options.addGenerationPrompt ?? true,
      bos_token: this.options.bosToken ?? '',
      eos_token: this.options.eosToken ?? '',
    };
    if (tools.length > 0)
      context.tools = tools.map((t) => ({
        type: 'function',
        function: {
          name: t.name,
          ...(t.description !== undefined ? { description: t.description } : {}),
          parameters: t.parameters,
        },
      }));
    // The engine's own raise_exception throws an Error with the template's message.
    try {
      return variant.render(context);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new OppuError('chat_template_error', `chat_template: ${message}`, { cause: error });
    }
  }

  parseToolCalls(text: string): ParsedToolCalls {
    switch (this.toolCalls) {
      case 'hermes':
        return parseHermes(text);
      case 'llama3-json':
        return parseLlama3(text);
      case 'mistral':
        return parseMistral(text);
      default:
        return { content: text, toolCalls: [] };
    }
  }

  /** One message as HF passes it to the template (keys only where set: templates test `'tool_calls' in message`). */
  private message(m: ChatMessage, index: number): Record<string, unknown> {
    if (typeof m?.content !== 'string')
      throw new OppuError('invalid_message', `chat_template: message ${index} has no string content`);
    const out: Record<string, unknown> = { role: m.role, content: this.neutralize(m.content) };
    if (m.toolCalls && m.toolCalls.length > 0)
      out.tool_calls = m.toolCalls.map((c) => ({
        ...(c.id !== undefined ? { id: c.id } : {}),
        type: 'function',
        function: { name: c.name, arguments: c.arguments },
      }));
    if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
    if (m.name !== undefined) out.name = m.name;
    return out;
  }

  private neutralize(text: string): string {
    let out = text;
    for (const token of this.options.specialTokens ?? []) {
      if (token.length < 2 || !out.includes(token)) continue;
      out = out.split(token).join(`${token[0]}${JOINER}${token.slice(1)}`);
    }
    return out;
  }
}

function tokenString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string')
    return (value as { content: string }).content;
  return undefined;
}

/** The tool-call format a template writes, from its text; undefined when it takes no tools or writes another. */
export function toolCallFormat(source: string): ToolCallFormat | undefined {
  if (!/\btools\b/.test(source)) return undefined;
  if (source.includes('<tool_call>')) return 'hermes';
  if (source.includes('[TOOL_CALLS]')) return 'mistral';
  if (source.includes('"parameters": dictionary of argument name')) return 'llama3-json';
  return undefined;
}

/** A JSON object `{name, arguments}` (or `parameters`) as a call; undefined when it is not one. */
function asCall(value: unknown, argsKey: 'arguments' | 'parameters' | 'either'): ChatToolCall | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.name !== 'string' || v.name.length === 0) return undefined;
  let args: unknown =
    argsKey === 'either'
      ? (v.arguments ?? v.parameters)
      : argsKey === 'arguments'
        ? v.arguments
        : v.parameters;
  if (typeof args === 'string') {
    try {
      args = JSON.parse(args);
    } catch {
      return undefined;
    }
  }
  if (args === undefined) args = {};
  if (!args || typeof args !== 'object' || Array.isArray(args)) return undefined;
  return {
    ...(typeof v.id === 'string' ? { id: v.id } : {}),
    name: v.name,
    arguments: args as Record<string, unknown>,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Qwen2.5 / Hermes: every `<tool_call>{json}</tool_call>` block is a call; the text around them is the content. */
function parseHermes(text: string): ParsedToolCalls {
  const calls: ChatToolCall[] = [];
  const block = /<tool_call>\s*([\s\S]*?)\s*(?:<\/tool_call>|$)/g;
  let content = '';
  let last = 0;
  for (let m = block.exec(text); m; m = block.exec(text)) {
    const call = asCall(parseJson(m[1] ?? ''), 'either');
    if (!call) continue;
    calls.push(call);
    content += text.slice(last, m.index);
    last = m.index + m[0].length;
  }
  content += text.slice(last);
  return { content: calls.length > 0 ? content.trim() : text, toolCalls: calls };
}

/** Llama 3.1/3.2: the answer is one JSON object `{"name", "parameters"}` (after `<|python_tag|>`), or `;`-separated ones. */
function parseLlama3(text: string): ParsedToolCalls {
  const body = text.replace(/^\s*<\|python_tag\|>/, '').trim();
  if (!body.startsWith('{')) return { content: text, toolCalls: [] };
  const whole = asCall(parseJson(body), 'either');
  if (whole) return { content: '', toolCalls: [whole] };
  const parts = body.split(/\s*;\s*(?=\{)/).map((p) => asCall(parseJson(p), 'either'));
  if (parts.length > 1 && parts.every((p) => p !== undefined))
    return { content: '', toolCalls: parts as ChatToolCall[] };
  return { content: text, toolCalls: [] };
}

/** Mistral v0.3: `[TOOL_CALLS] [{...}, ...]` (the marker is a special token, so a decoded answer may lack it). */
function parseMistral(text: string): ParsedToolCalls {
  const at = text.indexOf('[TOOL_CALLS]');
  const body = (at >= 0 ? text.slice(at + '[TOOL_CALLS]'.length) : text).trim();
  if (!body.startsWith('[')) return { content: text, toolCalls: [] };
  const list = parseJson(body);
  if (!Array.isArray(list) || list.length === 0) return { content: text, toolCalls: [] };
  const calls = list.map((c) => asCall(c, 'arguments'));
  if (calls.some((c) => c === undefined)) return { content: text, toolCalls: [] };
  return { content: at > 0 ? text.slice(0, at).trim() : '', toolCalls: calls as ChatToolCall[] };
}
