import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { type ChatTemplate, OppuError } from '@oppu/core';
import { HfChatTemplate } from './chat-template.js';

export { HfChatTemplate, type HfChatTemplateOptions, toolCallFormat } from './chat-template.js';

/** What generation needs from a tokenizer: text <-> ids and the special ids. */
export interface TextTokenizer {
  /**
   * Ids of `text`; with `addSpecialTokens` (default true) the tokenizer's template applies (e.g. BOS first).
   * Special-token strings inside the text (`</s>`) are ordinary text unless `parseSpecialTokens` is true.
   */
  encode(text: string, options?: { addSpecialTokens?: boolean; parseSpecialTokens?: boolean }): number[];
  /** Text of `ids`; special tokens are skipped unless `skipSpecialTokens` is false. */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number | undefined;
  readonly vocabSize: number;
  /** An instruct model's chat template (`chat_template` of tokenizer_config.json); absent for a base model. */
  readonly chatTemplate?: ChatTemplate;
}

export interface SpecialTokens {
  readonly bos?: string;
  readonly eos?: string;
  readonly pad?: string;
}

export interface HfTokenizerOptions {
  /**
   * `encode` reads at most this many characters of a text (default `DEFAULT_TOKENIZER_MAX_CHARS`): tokenizing
   * costs time and memory with the length of a word, and no context holds a text beyond it (a 2 MB "word" took
   * 21 s and 576 MB of memory to encode whole, for ids no model could read).
   */
  readonly maxChars?: number;
}

/** Characters `HfTokenizer.encode` reads of a text by default (256 Ki). */
export const DEFAULT_TOKENIZER_MAX_CHARS = 262_144;

/**
 * An HF `tokenizer.json` (BPE, Unigram, WordPiece; normalizers, pre-tokenizers, templates, decoders), run by
 * @huggingface/tokenizers, the pure-JS port of HF tokenizers that transformers.js uses: no native build, no
 * network, and the same files a Python user has. Special tokens come from `tokenizer_config.json`
 * (bos_token, eos_token, pad_token) or the options, else from the usual names (`<s>`, `</s>`, `<pad>`,
 * `<|endoftext|>`) when the vocabulary has them. An instruct model's `chat_template` is `chatTemplate`; a
 * prompt it renders is encoded with `parseSpecialTokens: true, addSpecialTokens: false` (as HF does).
 */
export class HfTokenizer implements TextTokenizer {
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number | undefined;
  readonly vocabSize: number;
  readonly maxChars: number;
  /** `chat_template` of tokenizer_config.json, when it has one (an instruct model). */
  readonly chatTemplate?: HfChatTemplate;
  private readonly tokenizer: Tokenizer;
  /** The same tokenizer without its special added tokens: their strings in a text are plain characters. */
  private readonly literal: Tokenizer;

  constructor(
    tokenizerJson: object,
    tokenizerConfig: Record<string, unknown> = {},
    special: SpecialTokens = {},
    options: HfTokenizerOptions = {},
  ) {
    const maxChars = options.maxChars ?? DEFAULT_TOKENIZER_MAX_CHARS;
    if (!Number.isSafeInteger(maxChars) || maxChars < 1)
      throw new OppuError(
        'invalid_argument',
        `tokenizer: maxChars must be a positive integer, got ${maxChars}`,
      );
    this.maxChars = maxChars;
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (error) {
      throw new OppuError(
        'invalid_tokenizer',
        `tokenizer.json: cannot be loaded (${(error as Error).message})`,
        {
          cause: error,
        },
      );
    }
    const added =
      (tokenizerJson as { added_tokens?: { special?: boolean; content?: unknown }[] }).added_tokens ?? [];
    const chat = HfChatTemplate.fromTokenizerConfig(
      tokenizerConfig,
      added.flatMap((t) => (t.special && typeof t.content === 'string' ? [t.content] : [])),
    );
    if (chat) this.chatTemplate = chat;
    this.literal = new Tokenizer(
      { ...tokenizerJson, added_tokens: added.filter((t) => !t.special) },
      tokenizerConfig,
    );
    this.vocabSize = this.tokenizer.get_vocab(true).size;
    const id = (name: string | undefined) =>
      name === undefined ? undefined : this.tokenizer.token_to_id(name);
    const pick = (explicit: string | undefined, configKey: string, fallbacks: string[]) => {
      const named = explicit ?? tokenName(tokenizerConfig[configKey]);
      if (named !== undefined) {
        const found = id(named);
        if (found === undefined)
          throw new OppuError(
            'invalid_tokenizer',
            `tokenizer: ${configKey} "${named}" is not in the vocabulary`,
          );
        return found;
      }
      for (const f of fallbacks) {
        const found = id(f);
        if (found !== undefined) return found;
      }
      return undefined;
    };
    this.bosId = pick(special.bos, 'bos_token', ['<s>', '<|begin_of_text|>', '<bos>']);
    this.eosId = pick(special.eos, 'eos_token', ['</s>', '<|end_of_text|>', '<|endoftext|>', '<eos>']);
    this.padId = pick(special.pad, 'pad_token', ['<pad>', '<|pad|>']);
  }

  /**
   * Reads `tokenizer.json` (and `tokenizer_config.json` beside it, if present) from a folder or from the
   * path of the JSON file itself.
   */
  static async load(
    location: string,
    special: SpecialTokens = {},
    options: HfTokenizerOptions = {},
  ): Promise<HfTokenizer> {
    const isDir = await stat(location).then(
      (s) => s.isDirectory(),
      (error: unknown) => {
        throw new OppuError(
          'tokenizer_not_found',
          `${location}: cannot read the tokenizer (${(error as Error).message})`,
          {
            cause: error,
          },
        );
      },
    );
    const file = isDir ? path.join(location, 'tokenizer.json') : location;
    const json = (await readJsonFile(file)) as Record<string, unknown>;
    const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
    const config = (await readJsonFile(configFile, true)) ?? {};
    return new HfTokenizer(json, config, special, options);
  }

  /**
   * By default a user's text cannot smuggle control tokens in: `</s>` typed by a user is encoded as the
   * characters `<`, `/s`, `>`, not as EOS (HF's `split_special_tokens=True`). The template's own specials
   * (BOS) are still added by id. Only the first `maxChars` characters of `text` are read.
   */
  encode(text: string, options: { addSpecialTokens?: boolean; parseSpecialTokens?: boolean } = {}): number[] {
    const tokenizer = options.parseSpecialTokens ? this.tokenizer : this.literal;
    return tokenizer.encode(capText(text, this.maxChars), {
      add_special_tokens: options.addSpecialTokens ?? true,
    }).ids;
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    // @huggingface/tokenizers throws on an empty id list ("token_ids must be a non-empty array"); a generation
    // that stops at once (end-of-sequence first) decodes to the empty string.
    if (ids.length === 0) return '';
    return this.tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? true });
  }

  /** The token string of one id (e.g. `▁hello`), or undefined. */
  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }
}

/** The first `maxChars` characters of a text, never splitting a surrogate pair. */
function capText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const code = text.charCodeAt(maxChars - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? maxChars - 1 : maxChars);
}

function tokenName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string')
    return (value as { content: string }).content;
  return undefined;
}

async function readJsonFile(file: string, optional = false): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (optional && (error as { code?: string }).code === 'ENOENT') return undefined;
    throw new OppuError('tokenizer_not_found', `${file}: cannot read (${(error as Error).message})`, {
      cause: error,
    });
  }
  try {
    const json = JSON.parse(text) as unknown;
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new Error('not a JSON object');
    return json as Record<string, unknown>;
  } catch (error) {
    throw new OppuError('invalid_tokenizer', `${file}: is not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
}
