import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import {
  type HistoryItem,
  type LongWorkOptions,
  OppuError,
  type ProfileSummarizer,
  type RetrieveOptions,
  type Retriever,
  type ScoredItem,
  type UserId,
  type UserProfile,
  userId,
} from '@oppu/core';
import { Bm25, type Bm25Options, rankDescending } from './bm25.js';
import { HistoryStore } from './history-store.js';
import { type ItemFormatter, itemText, recencyFactor, reciprocalRankFusion } from './item-text.js';
import { SifEmbeddings } from './sif-embeddings.js';
import { type Tokenizer, type TokenizerName, tokenizerFor } from './tokenizers.js';
import { validateItems } from './validate-items.js';
import { VectorIndex, type VectorIndexOptions } from './vector-index.js';

export type RetrievalMode = 'bm25' | 'vector' | 'hybrid';

export interface MemoryWarning {
  readonly code: string;
  readonly user: UserId;
  readonly message: string;
}

export interface UserMemoryOptions {
  /** Folder for the history store (`history.sqlite`) and per-user vector indexes (`users/<id>/`). Omit: in memory. */
  readonly dir?: string;
  /** A history store to use instead of `<dir>/history.sqlite`. */
  readonly store?: HistoryStore;
  /** Any LangChain embeddings; default `new SifEmbeddings()` (no download). `null`: BM25 only. */
  readonly embeddings?: EmbeddingsInterface | null;
  /** Names the embedding model in saved indexes (default: its `modelId`/`model`, or its class name). */
  readonly embedderId?: string;
  /** The task's text fields, joined by a space (LaMP-1: `['title']`, ...). Default: every field but id and date. */
  readonly fields?: readonly string[];
  /** Formats an item's text instead of `fields` (e.g. OPPU's `retrieval_history` template). */
  readonly format?: ItemFormatter;
  /** Refuse items that lack any of `fields` (default: only those lacking all of them). */
  readonly strictFields?: boolean;
  /** BM25 tokenizer: `oppu` (Python `split(" ")`, the paper's; default), `whitespace`, `words`, or a function. */
  readonly tokenizer?: TokenizerName | Tokenizer;
  /** BM25 parameters; default OPPU's (k1 1.5, b 0.75, epsilon 0.25). */
  readonly bm25?: Bm25Options;
  /** Default: `hybrid` with embeddings, `bm25` without. `bm25` returns exactly rank_bm25's `get_top_n`. */
  readonly mode?: RetrievalMode;
  /** Results returned when a call gives no k; default 5. */
  readonly k?: number;
  /** Candidates each ranker contributes to fusion; default max(50, 4k). */
  readonly candidates?: number;
  /** RRF constant; default 60. */
  readonly rrfK?: number;
  /** Multiply scores by a recency factor: 1 for the newest visible item, 1 - weight for very old or undated ones. */
  readonly recency?: { readonly halfLifeDays: number; readonly weight?: number };
  readonly vectorIndex?: VectorIndexOptions;
  /**
   * Keep a profile per user up to date in the history store as items arrive: `update` with the new items where the
   * summarizer has it (and no item was replaced), else a full `summarize`. Read it with `profile(user)`.
   */
  readonly profile?: { readonly summarizer: ProfileSummarizer; readonly task: string };
  /** Told when something was repaired (an index rebuilt from the history store); default: console.warn. */
  readonly onWarning?: (warning: MemoryWarning) => void;
}

interface UserState {
  items: HistoryItem[];
  texts: string[];
  tokens: string[][];
  position: Map<string, number>;
  /** BM25 over every item, built on first unfiltered query. */
  bm25?: Bm25;
  vectors?: VectorIndex;
}

/**
 * Per-user memory implementing @oppu/core's `Retriever`: items live in the SQLite history store; BM25 and an HNSW
 * vector index are kept per user and fused by reciprocal rank fusion. A user's query only ever reads that user's
 * state, built only from that user's rows; saved indexes carry the owner and are refused for anyone else.
 *
 * With `before`/`exclude`, BM25 statistics are computed over the visible items only, as OPPU does
 * (`BM25Okapi(profile[:i])`), so rankings match the paper's.
 */
export class UserMemory implements Retriever {
  readonly store: HistoryStore;
  readonly embeddings: EmbeddingsInterface | null;
  readonly embedderId: string | undefined;
  readonly mode: RetrievalMode;
  private readonly options: UserMemoryOptions;
  private readonly tokenize: Tokenizer;
  private readonly ownsStore: boolean;
  private readonly users = new Map<UserId, UserState>();
  private readonly locks = new Map<UserId, Promise<unknown>>();

  constructor(options: UserMemoryOptions = {}) {
    this.options = options;
    this.ownsStore = options.store === undefined;
    this.store =
      options.store ?? new HistoryStore(options.dir ? join(options.dir, 'history.sqlite') : ':memory:');
    this.embeddings = options.embeddings === undefined ? new SifEmbeddings() : options.embeddings;
    const e = this.embeddings as (EmbeddingsInterface & { modelId?: string; model?: string }) | null;
    this.embedderId = e ? (options.embedderId ?? e.modelId ?? e.model ?? e.constructor.name) : undefined;
    this.mode = options.mode ?? (this.embeddings ? 'hybrid' : 'bm25');
    if (this.mode !== 'bm25' && !this.embeddings) {
      throw new OppuError(
        'retriever_options',
        `UserMemory: mode "${this.mode}" needs embeddings; pass some or use mode "bm25"`,
      );
    }
    this.tokenize = tokenizerFor(options.tokenizer);
  }

  /** The text an item is indexed by (fields or format). */
  textOf(item: HistoryItem, where = 'history'): string {
    return this.options.format
      ? this.options.format(item)
      : itemText(item, this.options.fields, this.options.strictFields, where);
  }

  private userDir(user: UserId): string | undefined {
    return this.options.dir ? join(this.options.dir, 'users', user) : undefined;
  }

  private warn(user: UserId, code: string, message: string): void {
    const w = { code, user, message };
    if (this.options.onWarning) this.options.onWarning(w);
    else console.warn(`[oppu/retriever] ${message}`);
  }

  /** Runs `fn` after every earlier call for the same user has finished. */
  private exclusive<T>(user: UserId, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(user) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(user, tail);
    void tail.then(() => {
      if (this.locks.get(user) === tail) this.locks.delete(user);
    });
    return run;
  }

  private async state(user: UserId, options: LongWorkOptions = {}): Promise<UserState> {
    const cached = this.users.get(user);
    if (cached) return cached;
    const items = this.store.list(user);
    const texts = items.map((it) => this.textOf(it, `history of ${user}`));
    const s: UserState = {
      items,
      texts,
      tokens: texts.map(this.tokenize),
      position: new Map(items.map((it, i) => [it.id, i])),
    };
    if (this.embeddings) s.vectors = await this.loadVectors(user, s, options);
    this.users.set(user, s);
    return s;
  }

  private newIndex(user: UserId, dim: number): VectorIndex {
    return new VectorIndex(dim, { ...this.options.vectorIndex, owner: user, embedder: this.embedderId });
  }

  /** Loads the saved index, or rebuilds it from the history store if missing, damaged, or out of step. */
  private async loadVectors(
    user: UserId,
    s: UserState,
    options: LongWorkOptions,
  ): Promise<VectorIndex | undefined> {
    const dir = this.userDir(user);
    let index: VectorIndex | undefined;
    if (dir && VectorIndex.exists(dir)) {
      try {
        index = VectorIndex.load(dir, {
          ...this.options.vectorIndex,
          owner: user,
          embedder: this.embedderId,
        });
      } catch (error) {
        const why = error instanceof OppuError ? error.message : String(error);
        this.warn(
          user,
          'index_rebuilt',
          `${why}. Re-indexing ${s.items.length} items of ${user} from the history store.`,
        );
        rmSync(dir, { recursive: true, force: true });
      }
    }
    // reconcile with the store (the store is the truth: a crash may fall between its write and the index save)
    const stale = index ? index.ids().filter((id) => !s.position.has(id)) : [];
    for (const id of stale) index?.delete(id);
    const missing = s.items.filter((it) => !index?.has(it.id));
    if (missing.length > 0) index = await this.embedInto(user, index, missing, options);
    if (dir && index && (stale.length > 0 || missing.length > 0)) index.save(dir);
    return index;
  }

  private async embedInto(
    user: UserId,
    index: VectorIndex | undefined,
    items: readonly HistoryItem[],
    options: LongWorkOptions = {},
  ): Promise<VectorIndex | undefined> {
    const embeddings = this.embeddings;
    if (!embeddings || items.length === 0) return index;
    const batch = 256;
    for (let start = 0; start < items.length; start += batch) {
      options.signal?.throwIfAborted();
      const chunk = items.slice(start, start + batch);
      const vectors = await embeddings.embedDocuments(chunk.map((it) => this.textOf(it)));
      index ??= this.newIndex(user, (vectors[0] as number[]).length);
      chunk.forEach((it, i) => {
        index?.upsert(it.id, vectors[i] as number[], it.date);
      });
      options.onProgress?.({
        phase: 'embed',
        done: Math.min(start + batch, items.length),
        total: items.length,
      });
    }
    return index;
  }

  async add(user: UserId, items: readonly HistoryItem[]): Promise<void> {
    const u = userId(user);
    validateItems(items, `add(${u})`);
    if (items.length === 0) return;
    for (const it of items) this.textOf(it, `add(${u})`); // refuse items without the task's fields before writing
    await this.exclusive(u, async () => {
      const s = await this.state(u);
      this.store.add(u, items);
      const replaced = items.some((it) => s.position.has(it.id));
      for (const it of items) {
        const text = this.textOf(it);
        const at = s.position.get(it.id);
        if (at === undefined) {
          s.position.set(it.id, s.items.length);
          s.items.push(it);
          s.texts.push(text);
          s.tokens.push(this.tokenize(text));
        } else {
          s.items[at] = it;
          s.texts[at] = text;
          s.tokens[at] = this.tokenize(text);
        }
      }
      s.bm25 = undefined;
      s.vectors = await this.embedInto(u, s.vectors, items);
      const dir = this.userDir(u);
      if (dir && s.vectors) s.vectors.save(dir);
      await this.refreshProfile(u, s, replaced ? undefined : items);
    });
  }

  /** The user's stored profile (with the `profile` option), or undefined. */
  profile(user: UserId): UserProfile | undefined {
    const p = this.options.profile;
    return p ? this.store.getProfile(userId(user), p.task) : undefined;
  }

  private async refreshProfile(
    user: UserId,
    s: UserState,
    added: readonly HistoryItem[] | undefined,
  ): Promise<void> {
    const p = this.options.profile;
    if (!p) return;
    if (s.items.length === 0) {
      // Nothing left to describe: the profile goes with the last item (it would still speak of removed ones).
      this.store.deleteProfile(user, p.task);
      return;
    }
    const previous = this.store.getProfile(user, p.task);
    const next =
      added && previous && p.summarizer.update && previous.itemCount + added.length === s.items.length
        ? await p.summarizer.update(previous, added, p.task)
        : await p.summarizer.summarize(user, s.items, p.task);
    this.store.putProfile(next, p.task);
  }

  async remove(user: UserId, ids: readonly string[]): Promise<void> {
    const u = userId(user);
    await this.exclusive(u, async () => {
      const s = await this.state(u);
      this.store.remove(u, ids);
      const gone = new Set(ids);
      const keep = s.items.map((_, i) => i).filter((i) => !gone.has((s.items[i] as HistoryItem).id));
      s.items = keep.map((i) => s.items[i] as HistoryItem);
      s.texts = keep.map((i) => s.texts[i] as string);
      s.tokens = keep.map((i) => s.tokens[i] as string[]);
      s.position = new Map(s.items.map((it, i) => [it.id, i]));
      s.bm25 = undefined;
      for (const id of ids) s.vectors?.delete(id);
      const dir = this.userDir(u);
      if (dir && s.vectors) s.vectors.save(dir);
      await this.refreshProfile(u, s, undefined);
    });
  }

  /** Forgets everything of the user: items, profiles, settings and index files. */
  async clear(user: UserId): Promise<void> {
    const u = userId(user);
    await this.exclusive(u, async () => {
      this.store.forget(u);
      this.users.delete(u);
      const dir = this.userDir(u);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
  }

  /** The user's items in insertion order. */
  async items(user: UserId): Promise<readonly HistoryItem[]> {
    const u = userId(user);
    return this.exclusive(u, async () => [...(await this.state(u)).items]);
  }

  /** Rebuilds the user's vector index from the history store (after changing embeddings, say). */
  async reindex(user: UserId, options: LongWorkOptions = {}): Promise<void> {
    const u = userId(user);
    await this.exclusive(u, async () => {
      this.users.delete(u);
      const dir = this.userDir(u);
      if (dir) rmSync(dir, { recursive: true, force: true });
      await this.state(u, options);
    });
  }

  async retrieve(
    user: UserId,
    query: string,
    options: RetrieveOptions & { mode?: RetrievalMode } = {},
  ): Promise<ScoredItem[]> {
    const u = userId(user);
    if (typeof query !== 'string')
      throw new OppuError('invalid_query', `retrieve(${u}): query must be a string`);
    const k = options.k ?? this.options.k ?? 5;
    if (!Number.isInteger(k) || k < 0)
      throw new OppuError('invalid_k', `retrieve(${u}): k must be a whole number >= 0, got ${k}`);
    const mode = options.mode ?? this.mode;
    if (mode !== 'bm25' && !this.embeddings) {
      throw new OppuError('retriever_options', `retrieve(${u}): mode "${mode}" needs embeddings`);
    }
    const queryVector =
      mode === 'bm25' || !this.embeddings ? undefined : await this.embeddings.embedQuery(query);
    return this.exclusive(u, async () => {
      const s = await this.state(u);
      if (k === 0 || s.items.length === 0) return [];
      const { before, exclude } = options;
      const filtered = before !== undefined || (exclude !== undefined && exclude.size > 0);
      const visible = filtered
        ? s.items
            .map((_, i) => i)
            .filter((i) => {
              const it = s.items[i] as HistoryItem;
              return (
                (before === undefined || (it.date !== undefined && it.date < before)) && !exclude?.has(it.id)
              );
            })
        : undefined;
      if (visible?.length === 0) return [];
      const candidates = Math.max(this.options.candidates ?? 50, 4 * k);
      const qTokens = this.tokenize(query);

      // BM25 over the visible items (all items: cached)
      let bm25Ranked: { id: string; score: number }[] = [];
      if (mode !== 'vector') {
        let scores: Float64Array;
        let order: number[];
        let ids: (j: number) => number;
        if (visible) {
          const bm = new Bm25(
            visible.map((i) => s.tokens[i] as string[]),
            this.options.bm25,
          );
          scores = bm.scores(qTokens);
          ids = (j) => visible[j] as number;
        } else {
          s.bm25 ??= new Bm25(s.tokens, this.options.bm25);
          scores = s.bm25.scores(qTokens);
          ids = (j) => j;
        }
        order = rankDescending(scores, mode === 'bm25' ? k : candidates);
        if (mode === 'hybrid') order = order.filter((j) => (scores[j] as number) > 0);
        bm25Ranked = order.map((j) => ({
          id: (s.items[ids(j)] as HistoryItem).id,
          score: scores[j] as number,
        }));
      }
      let vectorRanked: { id: string; score: number }[] = [];
      if (mode !== 'bm25' && s.vectors && queryVector) {
        vectorRanked = s.vectors.search(queryVector, mode === 'vector' ? k : candidates, { before, exclude });
      }
      let ranked =
        mode === 'bm25'
          ? bm25Ranked
          : mode === 'vector'
            ? vectorRanked
            : reciprocalRankFusion([bm25Ranked, vectorRanked], this.options.rrfK);

      const recency = this.options.recency;
      if (recency) {
        const pool = (visible ?? s.items.map((_, i) => i)).map((i) =>
          Date.parse((s.items[i] as HistoryItem).date ?? ''),
        );
        const newest = Math.max(...pool.filter((t) => !Number.isNaN(t)));
        if (Number.isFinite(newest)) {
          ranked = ranked
            .map((r) => ({
              id: r.id,
              score:
                r.score *
                recencyFactor(
                  s.items[s.position.get(r.id) as number]?.date,
                  newest,
                  recency.halfLifeDays,
                  recency.weight ?? 0.5,
                ),
            }))
            .sort((a, b) => b.score - a.score);
        }
      }
      return ranked
        .slice(0, k)
        .map((r) => ({ item: s.items[s.position.get(r.id) as number] as HistoryItem, score: r.score }));
    });
  }

  /** Closes the history store if this memory opened it. */
  close(): void {
    this.users.clear();
    if (this.ownsStore) this.store.close();
  }
}
