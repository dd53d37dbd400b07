import { AsyncLocalStorage } from 'node:async_hooks';
import type { CallbackManagerForRetrieverRun } from '@langchain/core/callbacks/manager';
import { Document } from '@langchain/core/documents';
import { BaseRetriever, type BaseRetrieverInput } from '@langchain/core/retrievers';
import type { RunnableConfig } from '@langchain/core/runnables';
import { OppuError, type RetrieveOptions, type Retriever, userId } from '@oppu/core';

export interface OppuRetrieverInput extends BaseRetrieverInput, Omit<RetrieveOptions, 'exclude'> {
  /** The per-user memory to read, e.g. a `UserMemory`. */
  readonly memory: Retriever & { textOf?(item: import('@oppu/core').HistoryItem): string };
  /** The user when a call names none in `configurable.userId`. */
  readonly userId?: string;
  readonly exclude?: ReadonlySet<string>;
}

const callUser = new AsyncLocalStorage<string | undefined>();

/**
 * A LangChain retriever over one user's OPPU memory. The user comes from `configurable.userId` of each call
 * (`retriever.invoke(q, { configurable: { userId: 'alice' } })`), else from the constructor; with neither it throws.
 * Documents carry the item text as `pageContent` and the item (id, date, fields) plus `score` as metadata.
 */
export class OppuRetriever extends BaseRetriever {
  static override lc_name() {
    return 'OppuRetriever';
  }
  override lc_namespace = ['oppu', 'retrievers'];
  private readonly memory: OppuRetrieverInput['memory'];
  readonly userId: string | undefined;
  readonly k: number | undefined;
  readonly before: string | undefined;
  readonly exclude: ReadonlySet<string> | undefined;

  constructor(fields: OppuRetrieverInput) {
    super(fields);
    this.memory = fields.memory;
    this.userId = fields.userId;
    this.k = fields.k;
    this.before = fields.before;
    this.exclude = fields.exclude;
  }

  override async invoke(input: string, options?: RunnableConfig): Promise<Document[]> {
    const fromCall = options?.configurable?.userId as unknown;
    return callUser.run(typeof fromCall === 'string' ? fromCall : undefined, () =>
      super.invoke(input, options),
    );
  }

  override async _getRelevantDocuments(
    query: string,
    _runManager?: CallbackManagerForRetrieverRun,
  ): Promise<Document[]> {
    const chosen = callUser.getStore() ?? this.userId;
    if (chosen === undefined) {
      throw new OppuError(
        'no_user',
        'OppuRetriever: no user; pass { configurable: { userId } } to invoke, or userId to the constructor',
      );
    }
    const user = userId(chosen, 'configurable.userId');
    const hits = await this.memory.retrieve(user, query, {
      k: this.k,
      before: this.before,
      exclude: this.exclude,
    });
    return hits.map(
      ({ item, score }) =>
        new Document({
          pageContent: this.memory.textOf ? this.memory.textOf(item) : JSON.stringify(item),
          metadata: { ...item, userId: user, score },
          id: item.id,
        }),
    );
  }
}
