/**
 * A tiny Llama-style (Metaspace + BPE) `tokenizer.json`, built in code: for tests and examples that need a
 * real tokenizer without downloading one. Vocabulary: 4 specials, the letters a-z, `▁`, and the words given
 * (each built by merges from its letters, with the `▁` word prefix), plus a space-separated punctuation set.
 */
export function tinyTokenizerJson(words: readonly string[] = DEFAULT_WORDS): {
  json: Record<string, unknown>;
  config: Record<string, unknown>;
} {
  const vocab: Record<string, number> = {};
  const add = (t: string) => {
    if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  };
  for (const s of ['<unk>', '<s>', '</s>', '<pad>', '▁']) add(s);
  for (const ch of 'abcdefghijklmnopqrstuvwxyz.,!?') add(ch);
  const merges: [string, string][] = [];
  for (const w of words) {
    // Left-to-right merges: ▁ + w[0], then + w[1], ...
    let cur = '▁';
    for (const ch of w) {
      const next = cur + ch;
      if (!(next in vocab)) {
        add(next);
        merges.push([cur, ch]);
      }
      cur = next;
    }
  }
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    json: {
      version: '1.0',
      added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>'), special(3, '<pad>')],
      normalizer: null,
      pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [],
        special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
      },
      decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: '<unk>',
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: true,
        byte_fallback: false,
        vocab,
        merges,
      },
    },
    config: { bos_token: '<s>', eos_token: '</s>', pad_token: '<pad>' },
  };
}

const DEFAULT_WORDS = ['hello', 'world', 'the', 'cat', 'sat', 'on', 'mat', 'a', 'dog', 'ran', 'stop', 'here'];
