import type { BaseMessage } from '@langchain/core/messages';
import { type ChatMessage, type FreeTextInput, OppuError, type TaskDefinition } from '@oppu/core';

/**
 * How the last human message is read:
 * - `'task'`: it is the task's official input string (e.g. LaMP-7's "Paraphrase the following tweet ...: text"),
 *   answered exactly as `OppuService.ask` answers it (task prompt template; one trimmed line, or for a label task
 *   one of its labels); anything else is an error.
 * - `'chat'`: it is free text; the prompt is the conversation itself (see `chatQuestion`).
 * - `'auto'` (default): `'task'` when the message parses as the task's input, else `'chat'`.
 */
export type InputMode = 'auto' | 'task' | 'chat';

/** The question a list of chat messages asks, in the form `OppuService.prepare` takes. */
export type ChatQuestion =
  | { readonly kind: 'task'; readonly input: string }
  | { readonly kind: 'chat'; readonly input: FreeTextInput };

/** The plain text of a message; images and other non-text blocks are refused with a clear error. */
export function messageText(message: BaseMessage, where: string): string {
  const content = message.content as unknown;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) {
    throw new OppuError(
      'unsupported_content',
      `${where}: message content is neither a string nor content blocks`,
    );
  }
  return content
    .map((block: unknown, i) => {
      if (typeof block === 'string') return block;
      const b = block as { type?: unknown; text?: unknown };
      if (b.type === 'text' && typeof b.text === 'string') return b.text;
      throw new OppuError(
        'unsupported_content',
        `${where}: content block ${i} is of type ${JSON.stringify(b.type)}; the model reads text only (send text blocks)`,
      );
    })
    .join('');
}

/** The message's role (`getType()` of @langchain/core 1.x, `_getType()` of 0.3). */
function roleOf(message: BaseMessage): string {
  const m = message as BaseMessage & { getType?: () => string; _getType: () => string };
  return typeof m.getType === 'function' ? m.getType() : m._getType();
}

const ROLE_LABELS: Readonly<Record<string, string>> = { human: 'User', ai: 'Assistant', generic: 'User' };

/**
 * Turns the messages of one call into the question to answer.
 *
 * The question is the last human message; a conversation must end with it. For a task question the earlier
 * messages are not used: the user's adapter was trained on the task's single prompts, and the answer is the
 * one `service.ask` gives. For a chat question:
 * - one human message (after any system messages): the prompt body is the system text lines, then the text
 *   itself;
 * - a conversation with earlier turns: the system text lines, then every turn as `User: ...` / `Assistant: ...`
 *   lines, ending with `User: <question>` and `Assistant:` to cue the answer.
 * The user's profile and retrieved history go before the body (OPPU's prompt order), and the history is
 * ranked against the question's text alone. The conversation also goes as `messages`, which an instruct model's
 * chat template writes instead of the text; with `tools` (its template has tool calls) AI messages keep their
 * tool calls and tool messages are read as tool results.
 */
export function chatQuestion(
  messages: readonly BaseMessage[],
  task: TaskDefinition,
  mode: InputMode,
  tools = false,
): ChatQuestion {
  let last = -1;
  messages.forEach((m, i) => {
    if (roleOf(m) === 'human') last = i;
  });
  if (last < 0) {
    throw new OppuError(
      'no_question',
      `OppuChatModel: none of the ${messages.length} messages is a human message; the last human message is the question`,
    );
  }
  if (last !== messages.length - 1) {
    const after = roleOf(messages[last + 1]!);
    throw new OppuError(
      'question_not_last',
      `OppuChatModel: message ${last + 1} (${after}) comes after the last human message; the conversation must end with the question`,
    );
  }
  const question = messageText(messages[last]!, `message ${last} (human)`);
  if (mode !== 'chat') {
    try {
      task.parseInput(question);
      return { kind: 'task', input: question };
    } catch (error) {
      if (mode === 'task') throw error;
      if (!(error instanceof OppuError)) throw error;
    }
  }
  const system: string[] = [];
  const turns: string[] = [];
  // The same conversation as messages, for an instruct model's chat template.
  const chat: ChatMessage[] = [];
  messages.slice(0, last).forEach((m, i) => {
    const type = roleOf(m);
    const text = messageText(m, `message ${i} (${type})`);
    if (type === 'system' || type === 'developer') {
      system.push(text);
      chat.push({ role: 'system', content: text });
    } else if (type === 'tool' && tools) {
      const t = m as BaseMessage & { tool_call_id?: string; name?: string };
      chat.push({
        role: 'tool',
        content: text,
        ...(t.tool_call_id ? { toolCallId: t.tool_call_id } : {}),
        ...(t.name ? { name: t.name } : {}),
      });
    } else if (ROLE_LABELS[type]) {
      turns.push(`${ROLE_LABELS[type]}: ${text}`);
      const calls = (m as BaseMessage & { tool_calls?: { id?: string; name: string; args: object }[] })
        .tool_calls;
      chat.push({
        role: type === 'ai' ? 'assistant' : 'user',
        content: text,
        ...(tools && calls && calls.length > 0
          ? {
              toolCalls: calls.map((c) => ({
                ...(c.id ? { id: c.id } : {}),
                name: c.name,
                arguments: c.args as Record<string, unknown>,
              })),
            }
          : {}),
      });
    } else {
      throw new OppuError(
        'unsupported_message',
        `OppuChatModel: message ${i} is a ${type} message; the model reads system, human and AI messages only (it cannot call tools)`,
      );
    }
  });
  chat.push({ role: 'user', content: question });
  const lines = [...system];
  if (turns.length === 0) lines.push(question);
  else lines.push(...turns, `User: ${question}`, 'Assistant:');
  return { kind: 'chat', input: { text: lines.join('\n'), query: question, messages: chat } };
}
