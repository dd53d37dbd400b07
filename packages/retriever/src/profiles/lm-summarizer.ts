import {
  type BaseModel,
  capChars,
  DEFAULT_MAX_CHARS,
  type HistoryItem,
  OppuError,
  type ProfileSummarizer,
  PromptFit,
  type SamplingOptions,
  type UserId,
  type UserProfile,
  userId,
} from '@oppu/core';
import {
  OPPU_PROFILE_PROMPTS,
  oppuTaskName,
  type ProfilePrompt,
  pythonFormat,
  pythonRepr,
} from './oppu-profile-prompts.js';

/** Any LangChain chat model or runnable taking a string: `invoke(prompt)` resolving to a message with `content`. */
export interface ChatModelLike {
  invoke(input: string, options?: { signal?: AbortSignal }): Promise<{ content: unknown }>;
}

export interface LmSummarizerOptions {
  /** One of our base models, or any LangChain chat model. */
  readonly model: BaseModel | ChatModelLike;
  /** History items sampled into the prompt (OPPU: 10). */
  readonly k?: number;
  /** Each field is cut to its first this many whitespace tokens (OPPU: 200). */
  readonly maxTokensPerField?: number;
  /** Seed of the item sample (OPPU samples with Python's `random.sample`, unseeded). */
  readonly seed?: number;
  /** Base-model sampling; OPPU: top-k 10, temperature 0.6, top-p 0.9, 300 new tokens. */
  readonly sampling?: SamplingOptions;
  /** Prompts per task; default OPPU's. */
  readonly prompts?: Readonly<Record<string, ProfilePrompt>>;
  /**
   * How the history enters `{}`: `python-list` is what OPPU's code does (`profile_prompt.format(history_list)`
   * puts the list's repr in the prompt); `joined` joins the items with ' | '.
   */
  readonly historyFormat?: 'python-list' | 'joined';
  readonly now?: () => Date;
}

export const OPPU_PROFILE_SAMPLING: SamplingOptions = Object.freeze({
  temperature: 0.6,
  topK: 10,
  topP: 0.9,
  maxNewTokens: 300,
});

function isBaseModel(m: BaseModel | ChatModelLike): m is BaseModel {
  return typeof (m as BaseModel).generate === 'function' && typeof (m as BaseModel).tokenize === 'function';
}

function seededSample<T>(items: readonly T[], k: number, seed: number): T[] {
  if (items.length <= k) return [...items];
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pool = [...items];
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(next() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, k);
}

/** OPPU's PAG profile: a language model summarises a sample of the user's history with the task's profile prompt. */
export class LmProfileSummarizer implements ProfileSummarizer {
  private readonly options: LmSummarizerOptions;

  constructor(options: LmSummarizerOptions) {
    this.options = options;
  }

  /** The prompt OPPU would give the model for these items. */
  buildPrompt(items: readonly HistoryItem[], task: string, where = 'history'): string {
    const { lines, render } = this.promptParts(items, task, where);
    return render(lines);
  }

  /** The sampled items' history lines, and the prompt made from (possibly cut) lines. */
  private promptParts(
    items: readonly HistoryItem[],
    task: string,
    where: string,
  ): { lines: string[]; render: (lines: readonly string[]) => string } {
    const prompts = this.options.prompts ?? OPPU_PROFILE_PROMPTS;
    const name = prompts === OPPU_PROFILE_PROMPTS ? oppuTaskName(task) : task in prompts ? task : undefined;
    const prompt = name ? prompts[name] : undefined;
    if (!prompt) {
      throw new OppuError(
        'unknown_task',
        `profile prompt: no prompt for task ${JSON.stringify(task)}; use one of ${Object.keys(prompts).join(', ')} (or LaMP_1..LaMP_7), or pass prompts`,
      );
    }
    const maxTokens = this.options.maxTokensPerField ?? 200;
    const sample = seededSample(items, this.options.k ?? 10, this.options.seed ?? 0);
    const history = sample.map((item) => {
      const cut: Record<string, string> = {};
      for (const [key, v] of Object.entries(item))
        if (typeof v === 'string')
          cut[key] = capChars(v, DEFAULT_MAX_CHARS)
            .split(/\s+/)
            .filter(Boolean)
            .slice(0, maxTokens)
            .join(' ');
      try {
        return pythonFormat(prompt.retrievalHistory, cut, `${where}: item ${JSON.stringify(item.id)}`);
      } catch (error) {
        throw new OppuError('missing_fields', (error as Error).message);
      }
    });
    const python = (this.options.historyFormat ?? 'python-list') === 'python-list';
    const render = (lines: readonly string[]) => {
      const list = python ? `[${lines.map(pythonRepr).join(', ')}]` : lines.join(' | ');
      return prompt.profilePrompt.replace('{}', () => list);
    };
    return { lines: history, render };
  }

  async summarize(
    user: UserId,
    items: readonly HistoryItem[],
    task: string,
    signal?: AbortSignal,
  ): Promise<UserProfile> {
    const u = userId(user);
    if (items.length === 0) {
      return {
        userId: u,
        text: '',
        itemCount: 0,
        updatedAt: (this.options.now?.() ?? new Date()).toISOString(),
      };
    }
    const { lines, render } = this.promptParts(items, task, `history of ${u}`);
    let prompt = render(lines);
    const model = this.options.model;
    let text: string;
    if (isBaseModel(model)) {
      const sampling = { ...OPPU_PROFILE_SAMPLING, ...this.options.sampling };
      // A base model's context holds the prompt and the profile it writes: the longest lines lose tokens first.
      const fields = Object.fromEntries(lines.map((l, i) => [`h${i}`, l]));
      prompt = new PromptFit(model).fit(
        { body: { fields, render: (f) => render(lines.map((_, i) => f[`h${i}`] ?? '')) }, history: [] },
        sampling.maxNewTokens ?? 128,
        (parts) => parts.body,
      ).prompt;
      const [out] = await model.generate([{ prompt }], { ...sampling, signal });
      text = out?.text ?? '';
    } else {
      const message = await model.invoke(prompt, { signal });
      const c = message.content;
      text =
        typeof c === 'string'
          ? c
          : Array.isArray(c)
            ? c.map((p) => (typeof p === 'string' ? p : ((p as { text?: string }).text ?? ''))).join('')
            : String(c);
    }
    return {
      userId: u,
      text: text.replace(prompt, '').trim(),
      itemCount: items.length,
      updatedAt: (this.options.now?.() ?? new Date()).toISOString(),
      features: { summarizer: 'lm', task, sampled: Math.min(items.length, this.options.k ?? 10) },
    };
  }
}
