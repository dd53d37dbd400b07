import type { BpeVocabulary } from './bpe-trainer.js';

/** The special tokens of the tiny model, in id order (Llama convention: unk 0, bos 1, eos 2). */
export const SPECIAL_TOKENS = {
  unk: '<unk>',
  bos: '<s>',
  eos: '</s>',
  pad: '<pad>',
} as const;

export const SPECIAL_TOKEN_LIST = [
  SPECIAL_TOKENS.unk,
  SPECIAL_TOKENS.bos,
  SPECIAL_TOKENS.eos,
  SPECIAL_TOKENS.pad,
];

/**
 * The HF `tokenizer.json` for a byte-level BPE vocabulary: no normaliser (text is NFC-normalised before it
 * reaches the model), ByteLevel pre-tokenizer (GPT-2 regex, no prefix space), BPE model with the merges in rank
 * order, ByteLevel decoder, the special tokens as added tokens, and a Llama-style post-processor that puts `<s>`
 * first when special tokens are asked for (documents were trained as `<s> text </s>`). With
 * `add_special_tokens: false`, `decode(encode(text)) === text` for every string. `<unk>` exists for
 * Llama-style configs but is never produced: every byte has its own token.
 */
export function tokenizerJson(bpe: BpeVocabulary): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKEN_LIST.map((content) => ({
      id: bpe.vocab.get(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: SPECIAL_TOKENS.bos, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: SPECIAL_TOKENS.bos, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: SPECIAL_TOKENS.bos, type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: {
        [SPECIAL_TOKENS.bos]: {
          id: SPECIAL_TOKENS.bos,
          ids: [bpe.vocab.get(SPECIAL_TOKENS.bos)],
          tokens: [SPECIAL_TOKENS.bos],
        },
      },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(bpe.vocab),
      merges: bpe.merges,
    },
  };
}

/**
 * `tokenizer_config.json`: names the special tokens and turns off `clean_up_tokenization_spaces` (its default,
 * true, would turn " ." into "." on decode and break exact round trips).
 */
export function tokenizerConfigJson(contextLength: number): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: SPECIAL_TOKENS.bos,
    eos_token: SPECIAL_TOKENS.eos,
    unk_token: SPECIAL_TOKENS.unk,
    pad_token: SPECIAL_TOKENS.pad,
    add_bos_token: true,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: contextLength,
  };
}
