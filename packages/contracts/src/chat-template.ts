/**
 * Chat templates: how an instruct model's conversation is written as its prompt (HF's `chat_template` in
 * `tokenizer_config.json`), and how its tool calls are read back. Implemented by @oppu/trainer (rendered with
 * @huggingface/jinja); the contract carries no template engine.
 */

/** A tool the model may call: its name, what it does, and its arguments as a JSON schema (an `object` schema). */
export interface ChatTool {
  readonly name: string;
  readonly description?: string;
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** One call of a tool, as the model wrote it (or as an assistant message of the conversation carries it). */
export interface ChatToolCall {
  /** The caller's id for the call, where the format has one (Mistral's 9 characters); tool results name it. */
  readonly id?: string;
  readonly name: string;
  readonly arguments: Readonly<Record<string, unknown>>;
}

/** One message of a conversation, as chat templates read it (HF's `messages`). */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant' | 'tool';
  readonly content: string;
  /** An assistant message: the tools it called. */
  readonly toolCalls?: readonly ChatToolCall[];
  /** A tool message: the id of the call it answers. */
  readonly toolCallId?: string;
  /** A tool message: the tool's name. */
  readonly name?: string;
}

export interface ChatRenderOptions {
  /** End with the cue of the assistant's turn (HF's `add_generation_prompt`; default true). */
  readonly addGenerationPrompt?: boolean;
  /** Tools offered to the model (HF's `tools`); only with a template that has tool calls (`toolCalls`). */
  readonly tools?: readonly ChatTool[];
}

/** The formats of tool calls a chat template's model was taught, which `parseToolCalls` reads. */
export type ToolCallFormat =
  /** Qwen2.5 (Hermes): `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>`, one block per call. */
  | 'hermes'
  /** Llama 3.1/3.2: the whole answer is `{"name": ..., "parameters": {...}}` (after `<|python_tag|>`, if any). */
  | 'llama3-json'
  /** Mistral v0.3: `[TOOL_CALLS] [{"name": ..., "arguments": {...}}, ...]`. */
  | 'mistral';

/** What `parseToolCalls` found in a generated answer: the text outside the calls, and the calls. */
export interface ParsedToolCalls {
  readonly content: string;
  readonly toolCalls: readonly ChatToolCall[];
}

/**
 * An instruct model's chat template. A prompt it renders is fed with `promptFormat: 'chat'` (its special-token
 * strings are the tokens, and no BOS is added: the template writes its own, as HF's `apply_chat_template`).
 */
export interface ChatTemplateV1 {
  /** The prompt for `messages`; a template's own check (`raise_exception`) throws an OppuError naming it. */
  render(messages: readonly ChatMessage[], options?: ChatRenderOptions): string;
  /** The tool-call format the template writes and `parseToolCalls` reads; undefined: it has no tool calls. */
  readonly toolCalls?: ToolCallFormat;
  /** The tool calls in a generated answer (none when the template has no tool calls, or the answer made none). */
  parseToolCalls(text: string): ParsedToolCalls;
}

/** `ChatTemplateV1` under its unversioned name (the current version). */
export type ChatTemplate = ChatTemplateV1;
