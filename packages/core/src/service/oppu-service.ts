import type { AdapterMetadata, AdapterStore, StoredAdapter } from '../contracts/adapter-store.js';
import type { CandidateScores, PromptFormat, SamplingOptions } from '../contracts/base-model.js';
import type { ChatMessage, ChatTool } from '../contracts/chat-template.js';
import type { AdapterTrainingResult, PeftEngine, TextRanker } from '../contracts/engine.js';
import { OppuError } from '../contracts/errors.js';
import type { HistoryItem, ScoredItem, UserProfile } from '../contracts/history.js';
import type { HistoryStore } from '../contracts/history-store.js';
import { OPPU_LORA, OPPU_TRAINING, type PeftConfig, type TrainingConfig } from '../contracts/peft.js';
import type { ProfileSummarizer } from '../contracts/profile-summarizer.js';
import type { LongWorkOptions } from '../contracts/progress.js';
import type { Retriever } from '../contracts/retriever.js';
import type { TaskDefinition } from '../contracts/task.js';
import { userId as checkUserId, type UserId } from '../contracts/user.js';
import {
  chooseCandidate,
  type LabelChoice,
  type LabelChoiceOptions,
  labelChoiceDefaults,
} from '../pipeline/label-choice.js';
import { METHODS, type MethodName } from '../pipeline/methods.js';
import { answerTokensFor, PromptFit, type TruncationOptions } from '../pipeline/prompt-fit.js';
import { buildPrompt, type ChatPromptOptions, questionBody, trainingExamples } from '../pipeline/prompts.js';
import { answerLabels, cleanAnswer, LAMP_SAMPLING } from '../pipeline/run-lamp.js';
import { AdapterCache } from './adapter-cache.js';
import { KeyedQueue } from './keyed-queue.js';

/** Per-user caps, enforced with clear messages. */
export interface UserLimits {
  /** Most history items a user may store (default 10,000). */
  readonly maxItems: number;
  /** Most adapter versions kept per user; older ones are pruned after a new one is stored (default 10). */
  readonly maxVersions: number;
  /** Longest a training job may run before it is stopped, in seconds (default 1,800). */
  readonly maxTrainSeconds: number;
}

export const DEFAULT_LIMITS: UserLimits = Object.freeze({
  maxItems: 10_000,
  maxVersions: 10,
  maxTrainSeconds: 1_800,
});

export interface OppuServiceOptions {
  /** The base model (task-adapted or not) and its trainer. */
  readonly engine: PeftEngine;
  /** The task whose templates turn history items into training examples and questions into prompts. */
  readonly task: TaskDefinition;
  readonly adapters: AdapterStore;
  readonly history: HistoryStore;
  /** BM25 (or any ranker) over the user's own history lines, as OPPU retrieves. */
  readonly ranker: TextRanker;
  /** Optional persistent per-user memory (vectors, hybrid), kept in step with the history. */
  readonly memory?: Retriever;
  readonly summarizer?: ProfileSummarizer;
  readonly cache?: AdapterCache;
  readonly peft?: PeftConfig;
  readonly training?: Partial<TrainingConfig>;
  /** Retrieved items per prompt (default 1). */
  readonly k?: number;
  /** Users trained at the same time (default 1). */
  readonly concurrency?: number;
  readonly limits?: Partial<UserLimits>;
  /** How a label task's answer is picked from its labels' scores, over `labelChoiceDefaults(task)`. */
  readonly labelChoice?: LabelChoiceOptions;
  /**
   * How prompts are cut by tokens to fit the model's context (prompt-fit.ts, `TRUNCATION_DEFAULTS`): training
   * examples within the training `maxLength`, questions with room for their answer. A long item or question is
   * never an error.
   */
  readonly truncation?: TruncationOptions;
}

export interface TrainOptions extends LongWorkOptions {
  /** `incremental` (default) continues from the user's latest adapter when it exists; `fresh` starts anew. */
  readonly mode?: 'incremental' | 'fresh';
}

export interface AskOptions {
  /** Default: `oppu+pag` when the user has an adapter and a summarizer is set, else `oppu+rag`/`rag`. */
  readonly method?: MethodName;
  /** Generation tasks: decoding over `LAMP_SAMPLING[task.kind]`. */
  readonly sampling?: SamplingOptions;
  /** Label tasks: over the service's `labelChoice`. */
  readonly labelChoice?: LabelChoiceOptions;
}

/** A question as free text rather than a task input string (see `OppuService.prepare`). */
export interface FreeTextInput {
  /** The prompt body, put after the user's profile and retrieved history. */
  readonly text: string;
  /** What ranks the user's history (default: `text`). */
  readonly query?: string;
  /**
   * An instruct model (the base model has a `chatTemplate`): the conversation as messages, used instead of
   * `text`: system messages (their text opens the system message, before the profile and history), earlier
   * user/assistant turns, and the question as the last user message.
   */
  readonly messages?: readonly ChatMessage[];
  /** With `messages`, tools offered to the model (its chat template must have tool calls: `toolCalls`). */
  readonly tools?: readonly ChatTool[];
}

export interface PrepareOptions {
  /** Default as in `ask`. */
  readonly method?: MethodName;
  /** Retrieved history items (default: the service's `k`). */
  readonly k?: number;
  /** Tokens the prompt leaves free for the answer (default: the task's longest label, else LAMP_SAMPLING's maxNewTokens). */
  readonly answerTokens?: number;
}

/** The prompt `ask` would answer and what went into it, with the user's adapter loaded. */
export interface PreparedAsk {
  readonly user: UserId;
  readonly method: MethodName;
  readonly prompt: string;
  /** `'chat'` when the base model's chat template wrote the prompt (send it with `promptFormat: 'chat'`). */
  readonly promptFormat: PromptFormat;
  readonly retrieved: readonly HistoryItem[];
  readonly profile?: string;
  /** The user's latest adapter (through the LRU cache); absent when the method uses none or the user has none. */
  readonly adapter?: StoredAdapter;
}

export interface Answer {
  readonly text: string;
  readonly method: MethodName;
  readonly prompt: string;
  readonly retrieved: readonly HistoryItem[];
  readonly profile?: string;
  /** The adapter version that answered; undefined when the base model answered. */
  readonly adapterVersion?: number;
  /** Label tasks: each label's probability (they sum to 1); `text` is the label chosen (see `chooseLabel`). */
  readonly probabilities?: Readonly<Record<string, number>>;
}

/**
 * The per-user adapter lifecycle: history in, adapters trained, questions answered, and everything of a user
 * removable at once. Each user's history, memory, profile and adapter are read and written only under that
 * user's id; the engine starts every adapter from a fresh initialisation or from that user's own previous one.
 *
 * Incremental policy: `train(user)` continues from the user's latest adapter and trains on the user's whole
 * history (new and old items), for the configured epochs at the configured (small) learning rate, so what the
 * adapter learnt from earlier items is rehearsed rather than overwritten. Every training stores a new version;
 * earlier versions stay until pruned by `maxVersions`, and `rollback` restores one.
 */
export class OppuService {
  readonly task: TaskDefinition;
  readonly limits: UserLimits;
  private readonly options: OppuServiceOptions;
  private readonly queue: KeyedQueue;
  private readonly cache: AdapterCache;
  /** Serialises writes of one user's history/profile with that user's training job. */
  private readonly writes = new KeyedQueue(64);
  private fitted?: { query: PromptFit; training: PromptFit };

  constructor(options: OppuServiceOptions) {
    this.options = options;
    this.task = options.task;
    this.limits = { ...DEFAULT_LIMITS, ...(options.limits ?? {}) };
    this.queue = new KeyedQueue(options.concurrency ?? 1);
    this.cache = options.cache ?? new AdapterCache();
  }

  get engine(): PeftEngine {
    return this.options.engine;
  }

  /** The truncation policy bound to the model: questions fit its context, training examples the training length. */
  private fits(): { query: PromptFit; training: PromptFit } {
    if (!this.fitted) {
      const model = this.engine.model;
      const truncation = this.options.truncation ?? {};
      const context = Math.min(
        model.info.contextLength,
        truncation.contextLength ?? Number.POSITIVE_INFINITY,
      );
      const maxLength = this.options.training?.maxLength ?? OPPU_TRAINING.maxLength;
      this.fitted = {
        query: new PromptFit(model, { ...truncation, contextLength: context }),
        training: new PromptFit(model, { ...truncation, contextLength: Math.min(context, maxLength) }),
      };
    }
    return this.fitted;
  }

  /**
   * The labels a question of this task is answered from (a classification or regression task's label set):
   * each is scored after the prompt (`BaseModel.scoreCandidates`) and `chooseLabel` picks the answer. Undefined
   * for a generation task, whose answer is generated.
   */
  get labels(): readonly string[] | undefined {
    return answerLabels(this.task);
  }

  /**
   * A label task's answer from the scores of `labels` after one prompt, chosen as everywhere in oppu
   * (`chooseCandidate` with `labelChoiceDefaults(task)`, then the service's and the call's `labelChoice`).
   */
  chooseLabel(scores: CandidateScores, options: LabelChoiceOptions = {}): LabelChoice {
    const labels = this.labels;
    if (!labels) {
      throw new OppuError(
        'not_a_label_task',
        `task ${this.task.id} is answered by generation, not from labels`,
      );
    }
    return chooseCandidate(labels, scores, {
      ...labelChoiceDefaults(this.task),
      ...(this.options.labelChoice ?? {}),
      ...options,
    });
  }

  /** Adds items to the user's history (and memory), then refreshes the profile. */
  async addItems(user: UserId, items: readonly HistoryItem[]): Promise<number> {
    const u = checkUserId(user, 'user');
    return this.writes.run(u, async () => {
      const have = await this.options.history.count(u);
      if (have + items.length > this.limits.maxItems) {
        throw new OppuError(
          'limit_items',
          `user ${u} would have ${have + items.length} history items; the limit is ${this.limits.maxItems} (remove some first)`,
        );
      }
      for (const item of items) this.task.promptAnswer(item); // every item must carry the task's fields
      await this.options.history.add(u, items);
      await this.options.memory?.add(u, items);
      await this.refreshProfile(u);
      return this.options.history.count(u);
    });
  }

  async removeItems(user: UserId, ids: readonly string[]): Promise<number> {
    const u = checkUserId(user, 'user');
    return this.writes.run(u, async () => {
      const n = await this.options.history.remove(u, ids);
      await this.options.memory?.remove(u, ids);
      await this.refreshProfile(u);
      return n;
    });
  }

  async items(user: UserId): Promise<HistoryItem[]> {
    return this.options.history.list(checkUserId(user, 'user'));
  }

  async profile(user: UserId): Promise<UserProfile | undefined> {
    return this.options.history.getProfile(checkUserId(user, 'user'), this.task.id);
  }

  /** Rebuilds the user's profile from their items now; with no items left, the profile is removed. */
  private async refreshProfile(user: UserId): Promise<void> {
    const summarizer = this.options.summarizer;
    if (!summarizer) return;
    const items = await this.options.history.list(user);
    if (items.length === 0) {
      await this.options.history.deleteProfile(user, this.task.id);
      return;
    }
    const profile = await summarizer.summarize(user, items, this.task.id);
    await this.options.history.putProfile(profile, this.task.id);
  }

  /** Jobs queued or running for the user (0 or more). */
  pendingJobs(user: UserId): number {
    return this.queue.size(checkUserId(user, 'user'));
  }

  /**
   * Queues training of the user's adapter (one job per user at a time) and resolves with the stored version.
   * The previous version stays intact until the new one is completely written.
   */
  train(user: UserId, options: TrainOptions = {}): Promise<AdapterMetadata> {
    const u = checkUserId(user, 'user');
    return this.queue.run(u, () => this.writes.run(u, () => this.trainNow(u, options)));
  }

  /** What one user's training job needs: their examples and the adapter it continues from. */
  private async plan(user: UserId, options: TrainOptions) {
    const items = await this.options.history.list(user);
    if (items.length === 0) {
      throw new OppuError('no_history', `user ${user} has no history items to train on; add some first`);
    }
    const spec = this.trainingSpec();
    const profile = spec.profile ? (await this.profile(user))?.text : undefined;
    const examples = trainingExamples(this.task, items, {
      k: spec.retrieval ? (this.options.k ?? 1) : 0,
      ranker: this.options.ranker,
      ...(profile !== undefined ? { profile } : {}),
      fit: this.fits().training,
    });
    const previous = options.mode === 'fresh' ? undefined : await this.options.adapters.get(user);
    const peft: PeftConfig = previous?.meta.peft ?? this.options.peft ?? OPPU_LORA;
    return { user, items, examples, previous, peft };
  }

  /** A signal that also fires past `maxTrainSeconds` (the job is then stopped and nothing is stored). */
  private jobSignal(options: TrainOptions) {
    const timeout = AbortSignal.timeout(this.limits.maxTrainSeconds * 1000);
    return { timeout, signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout };
  }

  private cancelled(user: UserId, timeout: AbortSignal): OppuError {
    return new OppuError(
      timeout.aborted ? 'limit_train_time' : 'aborted',
      timeout.aborted
        ? `training of user ${user} ran past the limit of ${this.limits.maxTrainSeconds} s and was stopped; the previous adapter is kept`
        : `training of user ${user} was cancelled; the previous adapter is kept`,
    );
  }

  /** A job whose loss is not a finite number: it fails and the user's previous adapter stays current. */
  private diverged(users: readonly UserId[], loss: number): OppuError {
    return new OppuError(
      'training_diverged',
      `training of user ${users.join(', ')}: the loss became ${loss}; nothing was stored and the previous adapter is kept (lower the learning rate)`,
    );
  }

  /**
   * Stores a trained adapter as the user's next version (atomically), caches it and prunes old versions. A job
   * whose loss is not finite stores nothing (the store also refuses non-finite weights).
   */
  private async store(
    plan: Awaited<ReturnType<OppuService['plan']>>,
    result: AdapterTrainingResult,
    seconds: number,
  ): Promise<AdapterMetadata> {
    if (!Number.isFinite(result.finalLoss)) throw this.diverged([plan.user], result.finalLoss);
    const info = this.engine.model.info;
    const meta = await this.options.adapters.put(plan.user, result.weights, {
      task: this.task.id,
      baseModel: { name: info.name, hash: info.hash },
      peft: plan.peft,
      training: {
        ...(this.options.training ?? {}),
        steps: result.steps,
        finalLoss: result.finalLoss,
        items: plan.items.length,
        seconds,
      },
      createdAt: new Date().toISOString(),
      ...(plan.previous ? { parent: plan.previous.meta.version } : {}),
    });
    this.cache.set({ meta, weights: result.weights });
    await this.prune(plan.user);
    return meta;
  }

  private async trainNow(user: UserId, options: TrainOptions): Promise<AdapterMetadata> {
    const plan = await this.plan(user, options);
    const { timeout, signal } = this.jobSignal(options);
    const started = Date.now();
    const result = await this.engine.trainAdapter(plan.examples, {
      peft: plan.peft,
      ...(this.options.training ? { training: this.options.training } : {}),
      ...(plan.previous ? { init: plan.previous.weights } : {}),
      signal,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    if (result.cancelled) throw this.cancelled(user, timeout);
    return this.store(plan, result, (Date.now() - started) / 1000);
  }

  /**
   * Trains several users' adapters in one job: with an engine that trains many LoRAs in shared batches
   * (`trainAdapters`, the multi-adapter kernel) they train together, each exactly as it would alone; otherwise
   * one after another. Holds every one of these users' queue slots while it runs, and stores each user's new
   * version as `train` would.
   */
  trainMany(users: readonly UserId[], options: TrainOptions = {}): Promise<AdapterMetadata[]> {
    const list = [...new Set(users.map((u) => checkUserId(u, 'users')))];
    return this.queue.runMany(list, () =>
      this.writes.runMany(list, async () => {
        const plans = [];
        for (const u of list) plans.push(await this.plan(u, options));
        const lora = plans[0]?.peft;
        const together =
          this.engine.trainAdapters !== undefined &&
          plans.length > 1 &&
          lora?.method === 'lora' &&
          plans.every((p) => JSON.stringify(p.peft) === JSON.stringify(lora));
        if (!together) {
          const out: AdapterMetadata[] = [];
          for (const p of plans) out.push(await this.trainNow(p.user, options));
          return out;
        }
        const { timeout, signal } = this.jobSignal(options);
        const started = Date.now();
        const results = await this.engine.trainAdapters!(
          plans.map((p) => p.examples),
          {
            peft: lora,
            ...(this.options.training ? { training: this.options.training } : {}),
            inits: plans.map((p) => p.previous?.weights),
            signal,
            ...(options.onProgress ? { onProgress: options.onProgress } : {}),
          },
        );
        if (results.some((r) => r.cancelled)) throw this.cancelled(list.join(', ') as UserId, timeout);
        const seconds = (Date.now() - started) / 1000;
        // Each user's adapter trained as if alone: one that diverged keeps its previous version, the others are
        // stored, and then the job fails naming the diverged users.
        const out: AdapterMetadata[] = [];
        const diverged: { user: UserId; loss: number }[] = [];
        for (const [i, p] of plans.entries()) {
          const r = results[i]!;
          if (Number.isFinite(r.finalLoss)) out.push(await this.store(p, r, seconds));
          else diverged.push({ user: p.user, loss: r.finalLoss });
        }
        if (diverged.length > 0) {
          throw this.diverged(
            diverged.map((d) => d.user),
            diverged[0]!.loss,
          );
        }
        return out;
      }),
    );
  }

  /** Training prompts carry retrieval (and the profile when a summarizer is set), as OPPU+RAG / +PAG. */
  private trainingSpec() {
    return this.options.summarizer ? METHODS['oppu+pag'] : METHODS['oppu+rag'];
  }

  private async prune(user: UserId): Promise<void> {
    const versions = await this.options.adapters.list(user);
    const extra = versions.length - this.limits.maxVersions;
    for (const meta of versions.slice(0, Math.max(0, extra))) {
      await this.options.adapters.delete(user, meta.version);
    }
  }

  /** The user's adapter (the latest, or `version`); a cached copy only when its checksum is `sha256` (see AdapterCache.get). */
  private async loadAdapter(
    user: UserId,
    version?: number,
    sha256?: string,
  ): Promise<StoredAdapter | undefined> {
    if (version !== undefined) {
      const hit = this.cache.get(user, version, sha256);
      if (hit) return hit;
    }
    const stored = await this.options.adapters.get(user, version);
    if (!stored) return undefined;
    const info = this.engine.model.info;
    if (stored.meta.baseModel.hash !== info.hash) {
      throw new OppuError(
        'adapter_base_mismatch',
        `user ${user}'s adapter v${stored.meta.version} was trained on base ${stored.meta.baseModel.name}, not on ${info.name} in use; retrain it`,
      );
    }
    this.cache.set(stored);
    return stored;
  }

  /**
   * Builds the prompt `ask` would answer, and loads the user's adapter through the LRU cache, without generating.
   * `input` is a task input string (parsed with the task's `parseInput`, prompted with its `prompt` template) or
   * free text (`{ text, query? }`: the text is the prompt body, `query` — default the text — ranks the history).
   * Either way the user's retrieved history lines and profile go before it, per the method.
   */
  async prepare(
    user: UserId,
    input: string | FreeTextInput,
    options: PrepareOptions = {},
  ): Promise<PreparedAsk> {
    const u = checkUserId(user, 'user');
    const versions = await this.options.adapters.list(u);
    const latest = versions[versions.length - 1];
    const method: MethodName =
      options.method ??
      (latest
        ? this.options.summarizer
          ? 'oppu+pag'
          : 'oppu+rag'
        : this.options.summarizer
          ? 'pag'
          : 'rag');
    const spec = METHODS[method];
    const fit = this.fits().query;
    let body: Parameters<typeof buildPrompt>[1];
    let query: string;
    // An instruct model's questions are written with its chat template; a base model's with the task's.
    const template = this.engine.model.chatTemplate;
    let chat: ChatPromptOptions | undefined = template ? { template } : undefined;
    if (typeof input === 'string') {
      ({ body, query } = questionBody(this.task, input, fit.maxChars));
    } else {
      body = input.text;
      query = input.query ?? input.text;
      if (template && input.messages) {
        const conversation = splitConversation(input.messages);
        body = conversation.question;
        query = input.query ?? conversation.question;
        chat = {
          template,
          ...conversation.options,
          ...(input.tools && input.tools.length > 0 ? { tools: input.tools } : {}),
        };
      }
    }
    const items = spec.retrieval ? await this.options.history.list(u) : [];
    const profile = spec.profile ? (await this.profile(u))?.text : undefined;
    const built = buildPrompt(this.task, body, query, items, {
      k: spec.retrieval ? (options.k ?? this.options.k ?? 1) : 0,
      ranker: this.options.ranker,
      ...(profile !== undefined ? { profile } : {}),
      fit,
      answerTokens:
        options.answerTokens ?? answerTokensFor(fit, this.labels, LAMP_SAMPLING[this.task.kind].maxNewTokens),
      ...(chat ? { chat } : {}),
    });
    const { prompt } = built;
    const retrieved = built.retrieved.map((i) => items[i]!);
    // The version listed now, by checksum: one another process stored (a training worker) is served at once.
    const adapter =
      spec.adapter && latest ? await this.loadAdapter(u, latest.version, latest.sha256) : undefined;
    return {
      user: u,
      method,
      prompt,
      promptFormat: chat ? 'chat' : 'text',
      retrieved,
      ...(profile !== undefined ? { profile } : {}),
      ...(adapter ? { adapter } : {}),
    };
  }

  /**
   * Answers a question (a task input string) for the user, with their profile, memory and adapter: a label
   * task with the label `chooseLabel` picks (and every label's probability), a generation task with the first
   * line generated under `LAMP_SAMPLING`.
   */
  async ask(user: UserId, input: string, options: AskOptions = {}): Promise<Answer> {
    const maxNewTokens = { ...LAMP_SAMPLING[this.task.kind], ...(options.sampling ?? {}) }.maxNewTokens;
    const prepared = await this.prepare(user, input, {
      ...(options.method ? { method: options.method } : {}),
      answerTokens: answerTokensFor(this.fits().query, this.labels, maxNewTokens),
    });
    const { prompt, promptFormat, adapter, method, retrieved, profile } = prepared;
    const request = {
      prompt,
      ...(promptFormat === 'chat' ? { promptFormat } : {}),
      ...(adapter ? { adapter: adapter.weights } : {}),
    };
    let answer: { text: string; probabilities?: Readonly<Record<string, number>> };
    const labels = this.labels;
    if (labels) {
      const [scores] = await this.engine.model.scoreCandidates([{ ...request, candidates: labels }]);
      if (!scores) throw new OppuError('engine_result_count', 'the base model scored no candidates');
      const choice = this.chooseLabel(scores, options.labelChoice);
      answer = { text: choice.answer, probabilities: choice.probabilities };
    } else {
      const [result] = await this.engine.model.generate([request], {
        ...LAMP_SAMPLING[this.task.kind],
        ...(options.sampling ?? {}),
      });
      answer = { text: cleanAnswer(result?.text ?? '') };
    }
    return {
      ...answer,
      method,
      prompt,
      retrieved,
      ...(profile !== undefined ? { profile } : {}),
      ...(adapter ? { adapterVersion: adapter.meta.version } : {}),
    };
  }

  /** Memory search for the user (persistent memory when configured, else BM25 over the history). */
  async search(user: UserId, query: string, k = 5): Promise<ScoredItem[]> {
    const u = checkUserId(user, 'user');
    if (this.options.memory) return this.options.memory.retrieve(u, query, { k });
    const items = await this.options.history.list(u);
    const corpus = items.map((it) => this.task.historyLine(it));
    return this.options.ranker
      .topK(corpus, query, k)
      .map((i, rank) => ({ item: items[i]!, score: 1 / (rank + 1) }));
  }

  versions(user: UserId): Promise<AdapterMetadata[]> {
    return this.options.adapters.list(checkUserId(user, 'user'));
  }

  /** Makes an earlier version current again by storing a copy of it as the newest version. */
  async rollback(user: UserId, version: number): Promise<AdapterMetadata> {
    const u = checkUserId(user, 'user');
    return this.queue.run(u, async () => {
      const stored = await this.options.adapters.get(u, version);
      if (!stored) throw new OppuError('adapter_not_found', `user ${u} has no adapter version ${version}`);
      const { version: _v, sha256: _s, userId: _u, ...rest } = stored.meta;
      const meta = await this.options.adapters.put(u, stored.weights, {
        ...rest,
        parent: version,
        createdAt: new Date().toISOString(),
      });
      this.cache.set({ meta, weights: stored.weights });
      return meta;
    });
  }

  async exportAdapter(user: UserId): Promise<Uint8Array> {
    return this.options.adapters.export(checkUserId(user, 'user'));
  }

  /**
   * Validates the archive against the base model in use (and holds at most `maxVersions` versions) before it
   * replaces the user's adapters.
   */
  async importAdapter(user: UserId, archive: Uint8Array): Promise<AdapterMetadata[]> {
    const u = checkUserId(user, 'user');
    const info = this.engine.model.info;
    return this.queue.run(u, async () => {
      const metas = await this.options.adapters.import(
        u,
        archive,
        { name: info.name, hash: info.hash },
        { maxVersions: this.limits.maxVersions },
      );
      this.cache.forget(u);
      return metas;
    });
  }

  /**
   * Removes everything of the user: every adapter version, history row, profile, setting, memory entry and
   * cached adapter. Waits for the user's running job first, so nothing is written back afterwards.
   */
  async forget(user: UserId): Promise<void> {
    const u = checkUserId(user, 'user');
    await this.queue.run(u, () =>
      this.writes.run(u, async () => {
        await this.options.adapters.delete(u);
        await this.options.history.forget(u);
        await this.options.memory?.clear(u);
        this.cache.forget(u);
      }),
    );
  }

  /** Waits for every queued job. */
  idle(): Promise<void> {
    return this.queue.idle();
  }
}

/**
 * A conversation for the chat template: the system messages' text, the earlier turns, and the question (the
 * last message, which must be the user's).
 */
function splitConversation(messages: readonly ChatMessage[]): {
  question: string;
  options: Omit<ChatPromptOptions, 'template'>;
} {
  const last = messages[messages.length - 1];
  if (last?.role !== 'user')
    throw new OppuError(
      'question_not_last',
      `input.messages: the last of the ${messages.length} messages must be the user's question${last ? `, not a ${last.role} message` : ''}`,
    );
  const system = messages
    .slice(0, -1)
    .filter((m) => m.role === 'system')
    .map((m) => m.content);
  const turns = messages.slice(0, -1).filter((m) => m.role !== 'system');
  return {
    question: last.content,
    options: {
      ...(system.length > 0 ? { system: system.join('\n') } : {}),
      ...(turns.length > 0 ? { turns } : {}),
    },
  };
}
