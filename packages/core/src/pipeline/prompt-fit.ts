import type { BaseModel } from '../contracts/base-model.js';
import { OppuError } from '../contracts/errors.js';

/**
 * The truncation policy: every prompt the pipeline and the service build fits the model's context, for
 * training examples as for questions, and a long input is never an error.
 *
 * OPPU's released code cuts each history field to its first 768 words (training) or 368 words (retrieval),
 * then lets the tokenizer cut the whole training text at `cutoff_len` tokens from the right, answer included.
 * Here the words cut stays (prompts.ts), and then the parts are cut by tokens, each to its share, so that
 *
 *   special tokens + instruction + task content + retrieved items + profile + answer budget <= context
 *
 * - Every text (a field, a question's content, a profile) is first capped at `maxChars` characters, before it
 *   is tokenized or ranked, so no single word of any size costs more than that.
 * - The answer budget is reserved first: for a question, room for the generated answer (`answerTokens`: the
 *   sampling's maxNewTokens, or a label task's longest label); for a training example, its answer's own
 *   tokens, the answer cut to `maxAnswerTokens` when longer.
 * - The task's own text (the template's instruction) is never cut. What the context leaves is shared by the
 *   task content, the retrieved items and the profile, by `shares` (default 0.5, 0.3, 0.2): each part gets up
 *   to its share, and room a part does not need goes to the others (content first, then retrieval, then the
 *   profile). Within a part, the longest texts lose tokens first (water-filling): a history line keeps its
 *   short label and loses from its long text, and retrieved items stay in their rank order; a line with no
 *   room left for its own template text is left out.
 * - Cuts keep a text's first tokens (the start of an email, an abstract, a review), as OPPU's word cut does.
 *
 * The budget comes from the model: `tokenize` (without special tokens), `detokenize` and `info.contextLength`.
 */
export interface TruncationOptions {
  /** Characters kept of any one text before tokenization. Default: 16 x the context length. */
  readonly maxChars?: number;
  /** Tokens the model adds around a prompt and an answer (BOS, EOS). Default 2. */
  readonly specialTokens?: number;
  /** The most tokens a training example's answer keeps. Default: a quarter of the context. */
  readonly maxAnswerTokens?: number;
  /** Shares of the room left after the instruction and the answer. Defaults: content 0.5, retrieval 0.3, profile 0.2. */
  readonly shares?: {
    readonly content?: number;
    readonly retrieval?: number;
    readonly profile?: number;
  };
  /** The context to fit (default: the model's `info.contextLength`; e.g. a training `maxLength` below it). */
  readonly contextLength?: number;
}

export const TRUNCATION_DEFAULTS = Object.freeze({
  /** `maxChars` is this many characters per token of context. */
  charsPerToken: 16,
  specialTokens: 2,
  /** `maxAnswerTokens` is this share of the context. */
  answerShare: 0.25,
  shares: Object.freeze({ content: 0.5, retrieval: 0.3, profile: 0.2 }),
});

/** Characters kept of a text when no model says how long its context is (`truncateItem` without a fit). */
export const DEFAULT_MAX_CHARS = 65_536;

/** What the policy needs of a model. */
export type PromptModel = Pick<BaseModel, 'tokenize' | 'detokenize'> & {
  readonly info: Pick<BaseModel['info'], 'contextLength' | 'name'>;
};

/** Text fields a template is made from. */
export type TextFields = Readonly<Record<string, string>>;

/**
 * A text a template makes from fields that may be cut: a task prompt from its content, a history line from an
 * item. `keep` names fields never cut (a history line's label, a training example's answer).
 */
export interface Templated {
  readonly fields: TextFields;
  readonly render: (fields: TextFields) => string;
  readonly keep?: readonly string[];
}

/** The parts of one prompt: its body (instruction and task content), the retrieved lines (best first), the profile. */
export interface PromptParts {
  readonly body: Templated;
  readonly history: readonly Templated[];
  readonly profile?: string;
}

/** The parts after fitting: the body and lines as text (lines that had no room are left out). */
export interface FittedParts {
  readonly body: string;
  readonly history: readonly string[];
  readonly profile?: string;
}

/** Caps a text at `maxChars` characters (never splitting a surrogate pair). */
export function capChars(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let end = Math.max(0, maxChars);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

/** Splits `total` among `needs`: each gets at most its need, the smallest needs first, the rest shared evenly. */
export function waterFill(needs: readonly number[], total: number): number[] {
  const out = needs.map(() => 0);
  let left = Math.max(0, Math.floor(total));
  const order = needs.map((_, i) => i).sort((a, b) => (needs[a] as number) - (needs[b] as number) || a - b);
  order.forEach((i, n) => {
    const share = Math.floor(left / (order.length - n));
    const take = Math.min(needs[i] as number, share);
    out[i] = take;
    left -= take;
  });
  // What integer division left over goes to the first that still need more.
  for (const i of order) {
    if (left <= 0) break;
    const more = Math.min(left, (needs[i] as number) - (out[i] as number));
    out[i] = (out[i] as number) + more;
    left -= more;
  }
  return out;
}

const CACHE_ENTRIES = 8192;

/**
 * The truncation policy bound to one model (and one context: a model's, or a shorter training length). Cheap to
 * make; it remembers the token counts of the texts it has seen, so fitting many prompts over one history
 * tokenizes each item once.
 */
export class PromptFit {
  readonly contextLength: number;
  readonly maxChars: number;
  readonly specialTokens: number;
  readonly maxAnswerTokens: number;
  readonly shares: { readonly content: number; readonly retrieval: number; readonly profile: number };
  private readonly model: PromptModel;
  private readonly cache = new Map<string, readonly number[]>();

  constructor(model: PromptModel, options: TruncationOptions = {}) {
    this.model = model;
    const context = options.contextLength ?? model.info.contextLength;
    const bad = (what: string): never => {
      throw new OppuError('invalid_truncation', `truncation options: ${what}`);
    };
    if (!Number.isSafeInteger(context) || context < 8)
      bad(`contextLength must be an integer of at least 8, got ${context}`);
    this.contextLength = context;
    this.maxChars = options.maxChars ?? TRUNCATION_DEFAULTS.charsPerToken * context;
    if (!Number.isSafeInteger(this.maxChars) || this.maxChars < 1)
      bad(`maxChars must be a positive integer, got ${options.maxChars}`);
    this.specialTokens = options.specialTokens ?? TRUNCATION_DEFAULTS.specialTokens;
    if (!Number.isSafeInteger(this.specialTokens) || this.specialTokens < 0 || this.specialTokens >= context)
      bad(`specialTokens must be an integer from 0 to ${context - 1}, got ${options.specialTokens}`);
    this.maxAnswerTokens =
      options.maxAnswerTokens ?? Math.max(1, Math.floor(context * TRUNCATION_DEFAULTS.answerShare));
    if (!Number.isSafeInteger(this.maxAnswerTokens) || this.maxAnswerTokens < 1)
      bad(`maxAnswerTokens must be a positive integer, got ${options.maxAnswerTokens}`);
    const shares = { ...TRUNCATION_DEFAULTS.shares, ...(options.shares ?? {}) };
    for (const [name, v] of Object.entries(shares))
      if (!(v >= 0 && v <= 1)) bad(`shares.${name} must be a number from 0 to 1, got ${v}`);
    this.shares = shares;
  }

  /** A text capped at `maxChars` characters. */
  cap(text: string): string {
    return capChars(text, this.maxChars);
  }

  /** The ids (without special tokens) of the text capped at `maxChars`. */
  tokens(text: string): readonly number[] {
    return this.ids(this.cap(text));
  }

  /** How many tokens the text capped at `maxChars` has. */
  count(text: string): number {
    return this.tokens(text).length;
  }

  /** The first `n` tokens of the text capped at `maxChars`, as text (whose own tokens are at most `n`). */
  cut(text: string, n: number): string {
    return this.cutIds(this.cap(text), n);
  }

  /** A training answer: its first `maxAnswerTokens` tokens. */
  answer(text: string): string {
    return this.cut(text, this.maxAnswerTokens);
  }

  /**
   * Ids of a text as it is: a part already capped, or a prompt assembled from capped parts (which may be
   * longer than `maxChars`, and must be counted whole). Remembered.
   */
  private ids(text: string): readonly number[] {
    let ids = this.cache.get(text);
    if (!ids) {
      ids = this.model.tokenize(text);
      if (this.cache.size >= CACHE_ENTRIES) this.cache.clear();
      this.cache.set(text, ids);
    }
    return ids;
  }

  private size(text: string): number {
    return this.ids(text).length;
  }

  /** `cut` of a text already capped. */
  private cutIds(text: string, n: number): string {
    const ids = this.ids(text);
    if (ids.length <= n) return text;
    if (n <= 0) return '';
    let keep = n;
    for (let i = 0; i < 8 && keep > 0; i++) {
      const out = this.model.detokenize(ids.slice(0, keep));
      const over = this.size(out) - n;
      if (over <= 0) return out;
      keep -= over;
    }
    return '';
  }

  /**
   * The parts cut so that the assembled prompt, `reserve` answer tokens and the special tokens fit the context.
   * `assemble` joins them as the prompt will be written. Never fails: in the worst case (an instruction
   * longer than the context) the prompt keeps its last tokens.
   */
  fit(
    parts: PromptParts,
    reserve: number,
    assemble: (parts: FittedParts) => string,
  ): { prompt: string; truncated: boolean } {
    const room = this.contextLength - this.specialTokens - Math.max(0, Math.ceil(reserve));
    const bodyFull = parts.body.render(capFields(parts.body.fields, this.maxChars));
    const linesFull = parts.history.map((h) => h.render(capFields(h.fields, this.maxChars)));
    const profileFull = parts.profile === undefined ? undefined : this.cap(parts.profile);
    const whole = (fitted: FittedParts) => assemble(fitted);
    const full = whole({
      body: bodyFull,
      history: linesFull,
      ...(profileFull !== undefined ? { profile: profileFull } : {}),
    });
    const sum =
      this.size(bodyFull) +
      linesFull.reduce((s, l) => s + this.size(l), 0) +
      (profileFull === undefined ? 0 : this.size(profileFull));
    // The parts' tokens nearly add up (a join may merge or split a token): check the whole only when close.
    const margin = 4 + 2 * (linesFull.length + 2);
    if (sum + margin <= room || (sum <= room + margin && this.size(full) <= room))
      return { prompt: full, truncated: false };

    const fixed = this.size(parts.body.render(emptyCuttable(parts.body)));
    let space = Math.max(0, room - fixed);
    for (let attempt = 0; attempt < 6; attempt++) {
      const need = {
        content: Math.max(0, this.size(bodyFull) - fixed),
        retrieval: linesFull.reduce((s, l) => s + this.size(l), 0),
        profile: profileFull === undefined ? 0 : this.size(profileFull),
      };
      const give = this.allocate(need, space);
      const body = this.fitTemplated(parts.body, fixed + give.content);
      const lineBudgets = waterFill(
        linesFull.map((l) => this.size(l)),
        give.retrieval,
      );
      const history: string[] = [];
      parts.history.forEach((h, i) => {
        const line = this.fitTemplated(h, lineBudgets[i] as number, true);
        if (line !== '') history.push(line);
      });
      const profile =
        profileFull === undefined || give.profile <= 0 ? undefined : this.cutIds(profileFull, give.profile);
      const prompt = whole({ body, history, ...(profile ? { profile } : {}) });
      const over = this.size(prompt) - room;
      if (over <= 0) return { prompt, truncated: true };
      space = Math.max(0, space - over - 2 * (attempt + 1));
    }
    // Last resort: the prompt's last tokens (the instruction's end and the answer cue stay).
    const ids = this.ids(full);
    return {
      prompt: this.model.detokenize(ids.slice(Math.max(0, ids.length - Math.max(1, room)))),
      truncated: true,
    };
  }

  /** Shares of `space` for the content, the retrieval and the profile, room one does not need going to the next. */
  private allocate(
    need: { content: number; retrieval: number; profile: number },
    space: number,
  ): { content: number; retrieval: number; profile: number } {
    const names = ['content', 'retrieval', 'profile'] as const;
    const give = { content: 0, retrieval: 0, profile: 0 };
    let left = space;
    for (const n of names) {
      give[n] = Math.min(need[n], Math.floor(space * this.shares[n]));
      left -= give[n];
    }
    for (const n of names) {
      const more = Math.max(0, Math.min(left, need[n] - give[n]));
      give[n] += more;
      left -= more;
    }
    return give;
  }

  /**
   * A template's text in at most `budget` tokens: its cuttable fields water-filled into what the template's
   * own text leaves. `dropIfNoRoom`: '' when not even the template's own text fits (a retrieved line).
   */
  private fitTemplated(t: Templated, budget: number, dropIfNoRoom = false): string {
    const capped = capFields(t.fields, this.maxChars);
    const full = t.render(capped);
    if (this.size(full) <= budget) return full;
    const empty = emptyCuttable(t);
    const fixed = this.size(t.render(empty));
    if (fixed >= budget && dropIfNoRoom) return '';
    const names = Object.keys(capped).filter((k) => !(t.keep ?? []).includes(k));
    let avail = Math.max(0, budget - fixed);
    for (let attempt = 0; attempt < 6; attempt++) {
      const alloc = waterFill(
        names.map((k) => this.size(capped[k] as string)),
        avail,
      );
      const cut: Record<string, string> = { ...capped };
      names.forEach((k, i) => {
        cut[k] = this.cutIds(capped[k] as string, alloc[i] as number);
      });
      const out = t.render(cut);
      const over = this.size(out) - budget;
      if (over <= 0 || avail === 0) return dropIfNoRoom && over > 0 ? '' : out;
      avail = Math.max(0, avail - over - attempt);
    }
    return dropIfNoRoom ? '' : t.render(empty);
  }
}

/** Every field capped at `maxChars`. */
function capFields(fields: TextFields, maxChars: number): TextFields {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = capChars(v, maxChars);
  return out;
}

/** The template's fields with every cuttable one emptied: what the template's own text costs. */
function emptyCuttable(t: Templated): TextFields {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(t.fields)) out[k] = (t.keep ?? []).includes(k) ? v : '';
  return out;
}

/** Tokens to keep free for a generated answer when the sampling options give no maxNewTokens. */
export const DEFAULT_MAX_NEW_TOKENS = 128;

/**
 * Tokens a question's prompt keeps free for its answer: a label task's longest label as training writes it
 * (` ${label}`; its EOS is among the special tokens), else the generation's `maxNewTokens`.
 */
export function answerTokensFor(
  fit: PromptFit,
  labels: readonly string[] | undefined,
  maxNewTokens: number | undefined,
): number {
  if (labels && labels.length > 0) return Math.max(...labels.map((l) => fit.count(` ${l}`)));
  return maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
}
