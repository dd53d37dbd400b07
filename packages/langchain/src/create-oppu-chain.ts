import type { Document } from '@langchain/core/documents';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { type BasePromptTemplate, ChatPromptTemplate } from '@langchain/core/prompts';
import type { BaseRetrieverInterface } from '@langchain/core/retrievers';
import {
  type RunnableConfig,
  RunnableLambda,
  RunnablePassthrough,
  RunnableSequence,
} from '@langchain/core/runnables';
import {
  userId as checkUserId,
  type HistoryItem,
  OppuError,
  type OppuService,
  type RetrieveOptions,
  type Retriever,
  type ScoredItem,
  type UserId,
} from '@oppu/core';
import { OppuRetriever } from '@oppu/retriever';
import { OppuChatModel } from './oppu-chat-model.js';

/** A question for the chain: the text, or `{ question }`. */
export type OppuChainInput = string | { readonly question: string };

export interface OppuChainOptions {
  /**
   * The model answering the filled prompt. Default: `new OppuChatModel({ service, rag: false, pag: false,
   * input: 'chat' })` — the user's adapter only, since the chain's own steps put the history and profile in.
   */
  readonly model?: OppuChatModel;
  /** Where the history comes from. Default: an `OppuRetriever` over the service's `search` (`serviceMemory`). */
  readonly retriever?: BaseRetrieverInterface;
  /** Items the default retriever returns (default 3). */
  readonly k?: number;
  /** Put the user's profile into the prompt (default true). */
  readonly profile?: boolean;
  /**
   * The prompt, with the variables `profile` (the profile text and a newline, or empty), `context` (the
   * retrieved items, one per line, then a newline, or empty) and `question`. Default `OPPU_CHAIN_PROMPT`, which
   * writes them in OPPU's order: profile, history, question.
   */
  readonly prompt?: BasePromptTemplate;
  /** The user when a call's config names none in `configurable.userId`. */
  readonly userId?: string;
}

/** `{profile}{context}{question}` as one human message: OPPU's prompt order (`assemblePrompt`). */
export const OPPU_CHAIN_PROMPT = ChatPromptTemplate.fromMessages([['human', '{profile}{context}{question}']]);

/**
 * The service's history search as a `Retriever` (for `OppuRetriever`): `retrieve` is `service.search` (the
 * user's persistent memory when the service has one, else BM25 over their history), `add`/`remove` change the
 * user's history through the service, and each item's text is the task's history line.
 */
export function serviceMemory(service: OppuService): Retriever & { textOf(item: HistoryItem): string } {
  return {
    async add(user: UserId, items: readonly HistoryItem[]) {
      await service.addItems(user, items);
    },
    async remove(user: UserId, ids: readonly string[]) {
      await service.removeItems(user, ids);
    },
    async retrieve(user: UserId, query: string, options: RetrieveOptions = {}): Promise<ScoredItem[]> {
      if (options.before !== undefined || (options.exclude && options.exclude.size > 0)) {
        throw new OppuError(
          'unsupported_filter',
          'serviceMemory: the service search cannot filter by date or ids; give createOppuChain an OppuRetriever over a UserMemory for that',
        );
      }
      return service.search(user, query, options.k ?? 5);
    },
    async clear(user: UserId) {
      throw new OppuError(
        'unsupported_clear',
        `serviceMemory: clearing user ${user}'s history alone is not offered; service.forget(user) removes everything of the user`,
      );
    },
    textOf: (item: HistoryItem) => service.task.historyLine(item),
  };
}

function chainUser(config: RunnableConfig | undefined, fallback: string | undefined): UserId {
  const chosen = (config?.configurable?.userId as unknown) ?? fallback;
  if (typeof chosen !== 'string') {
    throw new OppuError(
      'no_user',
      'createOppuChain: no user; pass { configurable: { userId } } to invoke/stream/batch, or userId to createOppuChain',
    );
  }
  return checkUserId(chosen, 'configurable.userId');
}

/** Writes retrieved documents as prompt lines (each ends with a newline), then the blank line before the question. */
function contextText(docs: readonly Document[]): string {
  if (docs.length === 0) return '';
  return `${docs.map((d) => (d.pageContent.endsWith('\n') ? d.pageContent : `${d.pageContent}\n`)).join('')}\n`;
}

/**
 * The whole OPPU chain as one `RunnableSequence`: question -> { retrieved history, profile } -> prompt -> the
 * user's model -> string. The user comes from `configurable.userId` of each call (or `options.userId`):
 *
 * ```ts
 * const chain = createOppuChain(service);
 * await chain.invoke('what should I cook tonight?', { configurable: { userId: 'alice' } });
 * ```
 *
 * `invoke`, `stream` (token by token), `batch` (one forward pass for every user's question) and callbacks work as
 * on any runnable; each step shows up in traces under its own name.
 */
export function createOppuChain(
  service: OppuService,
  options: OppuChainOptions = {},
): RunnableSequence<OppuChainInput, string> {
  const fallback = options.userId;
  const model =
    options.model ??
    new OppuChatModel({
      service,
      rag: false,
      pag: false,
      input: 'chat',
      ...(fallback !== undefined ? { userId: fallback } : {}),
    });
  const retriever =
    options.retriever ??
    new OppuRetriever({
      memory: serviceMemory(service),
      k: options.k ?? 3,
      ...(fallback !== undefined ? { userId: fallback } : {}),
    });
  const withProfile = options.profile ?? true;
  const question = RunnableLambda.from((input: OppuChainInput) => {
    const text = typeof input === 'string' ? input : input?.question;
    if (typeof text !== 'string') {
      throw new OppuError(
        'invalid_input',
        'createOppuChain: the input is a question string or { question: string }',
      );
    }
    return { question: text };
  }).withConfig({ runName: 'OppuQuestion' });
  const context = RunnableSequence.from(
    [(input: { question: string }) => input.question, retriever, (docs: Document[]) => contextText(docs)],
    'OppuHistory',
  );
  const profile = RunnableLambda.from(async (_input: { question: string }, config?: RunnableConfig) => {
    if (!withProfile) return '';
    const found = await service.profile(chainUser(config, fallback));
    return found ? `${found.text}\n` : '';
  }).withConfig({ runName: 'OppuProfile' });
  return RunnableSequence.from<OppuChainInput, string>(
    [
      question,
      RunnablePassthrough.assign({ context, profile }),
      options.prompt ?? OPPU_CHAIN_PROMPT,
      model,
      new StringOutputParser(),
    ],
    'OppuChain',
  );
}
