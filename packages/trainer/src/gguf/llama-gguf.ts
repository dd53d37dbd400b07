import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { type AdapterWeights, OppuError, writeFileAtomic } from '@oppu/core';
import { llamaConfigFromHf, loadHfCheckpoint } from '../loaders/hf-checkpoint.js';
import type { ModuleName } from '../model/hooks.js';
import { type LlamaArrays, type LlamaConfig, PROJECTIONS, projectionShape } from '../model/llama.js';
import { ropeInvFreq } from '../model/rope.js';
import { loadAdapter } from '../peft/format/adapter-files.js';
import { loraConfigFromPeft, loraScaling } from '../peft/lora/config.js';
import { peftModulePath } from '../peft/model-dims.js';
import { checkNoExtraTensors, takeTensor, transpose2d } from '../peft/weights-check.js';
import { HfTokenizer } from '../tokenizer/hf-tokenizer.js';
import { encodeGguf, type GgufMetadata, type GgufTensor, type GgufValue } from './gguf-file.js';

/**
 * The decoder and its LoRA adapters as llama.cpp's `llama` architecture reads them (the layout of llama.cpp's
 * convert_hf_to_gguf.py and convert_lora_to_gguf.py): tensors `token_embd`, `blk.N.attn_q` ... `output`, stored
 * [out, in] like PyTorch, float32; the `llama.*` hyperparameters; a byte-level BPE tokenizer as
 * `tokenizer.ggml.model` "gpt2". llama.cpp rotates adjacent pairs (2i, 2i+1) in RoPE, so the q/k rows of a
 * model in HF's `rotate_half` order are permuted back, as the converter does; a LoRA's q/k `lora_b` rows too.
 *
 * Every family the loader reads goes through that one architecture (llama.cpp's `llama` graph takes optional
 * biases and per-frequency RoPE factors):
 * - projection biases (Qwen2's q/k/v, Llama's `attention_bias`/`mlp_bias`) as `blk.N.<name>.bias`, q/k ones
 *   permuted like their rows;
 * - RoPE scaling `linear` as `llama.rope.scaling.type`/`.factor`; `llama3` as the `rope_freqs` tensor (each
 *   frequency's divisor, as the converter writes it); `dynamic` as nothing, since within the context length the
 *   file declares HF's dynamic NTK frequencies are the default ones;
 * - a sliding window (Mistral) by declaring the context length no longer than the window: llama.cpp's `llama`
 *   graph attends to every earlier position, which is what the window allows up to its length.
 */

/** llama.cpp's tensor name of each projection (`blk.N.<name>.weight`). */
export const GGUF_PROJECTION_NAMES: Readonly<Record<ModuleName, string>> = {
  q_proj: 'attn_q',
  k_proj: 'attn_k',
  v_proj: 'attn_v',
  o_proj: 'attn_output',
  gate_proj: 'ffn_gate',
  up_proj: 'ffn_up',
  down_proj: 'ffn_down',
};

/** GGUF token types (llama.cpp's llama_token_type). */
export const GGUF_TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5 } as const;

/** What llama.cpp needs to tokenize as we do. */
export interface GgufTokenizer {
  /** `tokenizer.ggml.pre`: llama.cpp's name for the pre-tokenizer regex ("gpt-2"). */
  readonly pre: string;
  /** One string per id, as many as the model's vocabulary (unused ids padded as `[PAD<id>]`). */
  readonly tokens: readonly string[];
  readonly tokenTypes: readonly number[];
  /** BPE merges, `"left right"`, in rank order. */
  readonly merges: readonly string[];
  readonly bosId?: number;
  readonly eosId?: number;
  readonly unkId?: number;
  readonly padId?: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly chatTemplate?: string;
}

/**
 * Reorders the output rows of a q/k weight [heads*hd, cols] from HF's halves (i, i + hd/2) to adjacent pairs
 * (2i, 2i+1) in each head: llama.cpp's `LlamaModel.permute` in convert_hf_to_gguf.py, the inverse of
 * `interleavedToHalfRows`.
 */
export function halfToInterleavedRows(
  w: Float32Array,
  heads: number,
  hd: number,
  cols: number,
): Float32Array {
  if (w.length !== heads * hd * cols || hd % 2 !== 0)
    throw new OppuError(
      'invalid_argument',
      `halfToInterleavedRows: ${w.length} values are not [${heads} heads x ${hd} (even), ${cols}]`,
    );
  const out = new Float32Array(w.length);
  const half = hd / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let c = 0; c < 2; c++) {
        const from = (h * hd + c * half + i) * cols;
        const to = (h * hd + 2 * i + c) * cols;
        out.set(w.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}

const headDim = (c: LlamaConfig) => projectionShape(c, 'q_proj')[1] / c.heads;

/** The config fields the export writes; a model that sets any other (a RoPE scaling, biases...) is refused. */
const EXPORTED_CONFIG_FIELDS = new Set([
  'dim',
  'hidden',
  'layers',
  'heads',
  'kvHeads',
  'headDim',
  'vocab',
  'maxSeqLen',
  'normEps',
  'ropeTheta',
  'ropeStyle',
  'tiedEmbeddings',
  'biases',
  'ropeScaling',
  'slidingWindow',
]);

const isUnset = (v: unknown): boolean =>
  v === undefined ||
  v === null ||
  v === false ||
  (typeof v === 'object' && Object.values(v as object).every(isUnset));

/**
 * Refuses a decoder config with a feature this export does not write, naming it, rather than writing a file
 * llama.cpp would run differently.
 */
export function checkGgufExportable(c: LlamaConfig, where = 'GGUF export'): void {
  for (const [key, value] of Object.entries(c)) {
    if (!EXPORTED_CONFIG_FIELDS.has(key) && !isUnset(value))
      throw new OppuError(
        'unsupported_model',
        `${where}: the model sets ${key} (${JSON.stringify(value)}), which the GGUF export does not write`,
      );
  }
}

/** The permutation llama.cpp's RoPE needs for the rows of a q/k output, or none. */
function ropeRows(c: LlamaConfig, module: ModuleName, w: Float32Array, cols: number): Float32Array {
  if (c.ropeStyle !== 'half' || (module !== 'q_proj' && module !== 'k_proj')) return w;
  return halfToInterleavedRows(w, module === 'q_proj' ? c.heads : c.kvHeads, headDim(c), cols);
}

/**
 * llama.cpp's `rope_freqs` for Llama 3.x scaling: per frequency j < hd/2, default / scaled (llama.cpp divides
 * theta^(-2j/hd) by it), as convert_hf_to_gguf.py's `generate_extra_tensors` writes it.
 */
export function ggufRopeFreqFactors(c: LlamaConfig): Float32Array | undefined {
  if (c.ropeScaling?.type !== 'llama3') return undefined;
  const hd = headDim(c);
  const plain = ropeInvFreq(hd, c.ropeTheta);
  const scaled = ropeInvFreq(hd, c.ropeTheta, c.ropeScaling, { maxPositionEmbeddings: c.maxSeqLen });
  return Float32Array.from(plain, (f, j) => f / (scaled[j] as number));
}

/** The decoder's weights as llama.cpp's tensors ([out, in], q/k rows in llama.cpp's RoPE order). */
export function llamaGgufTensors(c: LlamaConfig, w: LlamaArrays): GgufTensor[] {
  checkGgufExportable(c);
  if (w.layers.length !== c.layers)
    throw new OppuError(
      'invalid_model_weights',
      `GGUF export: ${w.layers.length} layers, the config says ${c.layers}`,
    );
  const tensors: GgufTensor[] = [{ name: 'token_embd.weight', shape: [c.vocab, c.dim], data: w.embed }];
  w.layers.forEach((layer, l) => {
    tensors.push({ name: `blk.${l}.attn_norm.weight`, shape: [c.dim], data: layer.attnNorm });
    for (const m of PROJECTIONS) {
      const [inF, outF] = projectionShape(c, m);
      const data = ropeRows(c, m, transpose2d(layer[m], inF, outF), inF);
      tensors.push({ name: `blk.${l}.${GGUF_PROJECTION_NAMES[m]}.weight`, shape: [outF, inF], data });
      if (!c.biases?.includes(m)) continue;
      const bias = layer.bias?.[m];
      if (!bias || bias.length !== outF)
        throw new OppuError(
          'invalid_model_weights',
          `GGUF export: layer ${l} ${m} has a bias in the config but ${bias ? `${bias.length} values, not ${outF}` : 'none in the weights'}`,
        );
      tensors.push({
        name: `blk.${l}.${GGUF_PROJECTION_NAMES[m]}.bias`,
        shape: [outF],
        data: ropeRows(c, m, bias, 1),
      });
    }
    tensors.push({ name: `blk.${l}.ffn_norm.weight`, shape: [c.dim], data: layer.ffnNorm });
  });
  tensors.push({ name: 'output_norm.weight', shape: [c.dim], data: w.norm });
  const freqs = ggufRopeFreqFactors(c);
  if (freqs) tensors.push({ name: 'rope_freqs.weight', shape: [freqs.length], data: freqs });
  // Tied embeddings: no `output` tensor, and llama.cpp uses `token_embd` for the head.
  if (!c.tiedEmbeddings) {
    if (!w.lmHead)
      throw new OppuError(
        'invalid_model_weights',
        'GGUF export: the config is untied but there is no lmHead',
      );
    tensors.push({
      name: 'output.weight',
      shape: [c.vocab, c.dim],
      data: transpose2d(w.lmHead, c.dim, c.vocab),
    });
  }
  return tensors;
}

const u32 = (value: number): GgufValue => ({ type: 'uint32', value });
const f32 = (value: number): GgufValue => ({ type: 'float32', value });
const str = (value: string): GgufValue => ({ type: 'string', value });

/** `general.*`, `llama.*` and `tokenizer.*` metadata of a base model file. */
export function llamaGgufMetadata(c: LlamaConfig, tokenizer: GgufTokenizer, name: string): GgufMetadata {
  if (tokenizer.tokens.length !== c.vocab)
    throw new OppuError(
      'invalid_argument',
      `GGUF export: the tokenizer has ${tokenizer.tokens.length} tokens, the model's vocabulary ${c.vocab}`,
    );
  const hd = headDim(c);
  const m = new Map<string, GgufValue>([
    ['general.architecture', str('llama')],
    ['general.type', str('model')],
    ['general.name', str(name)],
    ['general.file_type', u32(0)], // ALL_F32
    ['llama.vocab_size', u32(c.vocab)],
    ['llama.context_length', u32(Math.min(c.maxSeqLen, c.slidingWindow ?? c.maxSeqLen))],
    ['llama.embedding_length', u32(c.dim)],
    ['llama.block_count', u32(c.layers)],
    ['llama.feed_forward_length', u32(c.hidden)],
    ['llama.rope.dimension_count', u32(hd)],
    ['llama.rope.freq_base', f32(c.ropeTheta)],
    ['llama.attention.head_count', u32(c.heads)],
    ['llama.attention.head_count_kv', u32(c.kvHeads)],
    ['llama.attention.layer_norm_rms_epsilon', f32(c.normEps)],
  ]);
  if (c.ropeScaling?.type === 'linear') {
    m.set('llama.rope.scaling.type', str('linear'));
    m.set('llama.rope.scaling.factor', f32(c.ropeScaling.factor));
  }
  if (hd !== c.dim / c.heads) {
    m.set('llama.attention.key_length', u32(hd));
    m.set('llama.attention.value_length', u32(hd));
  }
  m.set('tokenizer.ggml.model', str('gpt2'));
  m.set('tokenizer.ggml.pre', str(tokenizer.pre));
  m.set('tokenizer.ggml.tokens', { type: 'string[]', value: tokenizer.tokens });
  m.set('tokenizer.ggml.token_type', { type: 'int32[]', value: tokenizer.tokenTypes });
  m.set('tokenizer.ggml.merges', { type: 'string[]', value: tokenizer.merges });
  if (tokenizer.bosId !== undefined) m.set('tokenizer.ggml.bos_token_id', u32(tokenizer.bosId));
  if (tokenizer.eosId !== undefined) m.set('tokenizer.ggml.eos_token_id', u32(tokenizer.eosId));
  if (tokenizer.unkId !== undefined) m.set('tokenizer.ggml.unknown_token_id', u32(tokenizer.unkId));
  if (tokenizer.padId !== undefined) m.set('tokenizer.ggml.padding_token_id', u32(tokenizer.padId));
  m.set('tokenizer.ggml.add_bos_token', { type: 'bool', value: tokenizer.addBos });
  m.set('tokenizer.ggml.add_eos_token', { type: 'bool', value: tokenizer.addEos });
  if (tokenizer.chatTemplate !== undefined) m.set('tokenizer.chat_template', str(tokenizer.chatTemplate));
  return m;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The GGUF tokenizer of an HF byte-level BPE `tokenizer.json` (GPT-2's pre-tokenizer: ByteLevel with its regex,
 * no prefix space, no normalizer), padded to `vocabSize` ids. BOS/EOS/PAD ids and whether BOS/EOS are added
 * are read from our own tokenizer over the same files, so llama.cpp adds exactly what we add. Anything llama.cpp's
 * "gpt2" tokenizer would split differently is refused, naming the field.
 */
export function ggufTokenizerFromHf(
  tokenizerJson: unknown,
  tokenizerConfig: Json,
  vocabSize: number,
  where = 'tokenizer.json',
): GgufTokenizer {
  const refuse = (what: string): never => {
    throw new OppuError(
      'unsupported_tokenizer',
      `${where}: ${what}; GGUF export supports byte-level BPE tokenizers (GPT-2's pre-tokenizer) only`,
    );
  };
  if (!isObject(tokenizerJson)) return refuse('is not a JSON object');
  const model = tokenizerJson.model;
  if (!isObject(model) || model.type !== 'BPE')
    return refuse(`model.type is ${JSON.stringify(isObject(model) ? model.type : model)}, not "BPE"`);
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'] as const)
    if (model[key] !== undefined && model[key] !== null && model[key] !== '') refuse(`model.${key} is set`);
  if (model.byte_fallback === true) refuse('model.byte_fallback is true');
  if (tokenizerJson.normalizer !== null && tokenizerJson.normalizer !== undefined)
    refuse(`normalizer ${JSON.stringify((tokenizerJson.normalizer as Json).type)} is set`);
  const pre = tokenizerJson.pre_tokenizer;
  if (!isObject(pre) || pre.type !== 'ByteLevel' || pre.use_regex === false || pre.add_prefix_space === true)
    refuse(
      `pre_tokenizer ${JSON.stringify(isObject(pre) ? pre.type : pre)} is not ByteLevel with its regex and no prefix space`,
    );
  const decoder = tokenizerJson.decoder;
  if (!isObject(decoder) || decoder.type !== 'ByteLevel')
    refuse(`decoder ${JSON.stringify(isObject(decoder) ? decoder.type : decoder)} is not ByteLevel`);
  if (!isObject(model.vocab)) return refuse('model.vocab is not an object');

  const tokens: (string | undefined)[] = new Array(vocabSize);
  const types: number[] = new Array(vocabSize).fill(GGUF_TOKEN_TYPE.normal);
  const place = (text: string, id: unknown, type: number, field: string) => {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0)
      refuse(`${field}: id ${JSON.stringify(id)} of ${JSON.stringify(text)} is not a token id`);
    if ((id as number) >= vocabSize)
      refuse(
        `${field}: id ${id} of ${JSON.stringify(text)} is beyond the model's vocabulary of ${vocabSize}`,
      );
    tokens[id as number] = text;
    types[id as number] = type;
  };
  for (const [text, id] of Object.entries(model.vocab))
    place(text, id, GGUF_TOKEN_TYPE.normal, 'model.vocab');
  const added = tokenizerJson.added_tokens ?? [];
  if (!Array.isArray(added)) return refuse('added_tokens is not an array');
  for (const t of added) {
    if (!isObject(t) || typeof t.content !== 'string')
      return refuse('added_tokens has an entry without "content"');
    place(
      t.content,
      t.id,
      t.special === true ? GGUF_TOKEN_TYPE.control : GGUF_TOKEN_TYPE.userDefined,
      'added_tokens',
    );
  }
  // Array.from, not tokens.map: map skips the holes, which are the ids to pad.
  const padded = Array.from(tokens, (t, id) => {
    if (t !== undefined) return t;
    types[id] = GGUF_TOKEN_TYPE.unused;
    return `[PAD${id}]`;
  });

  if (!Array.isArray(model.merges)) return refuse('model.merges is not an array');
  const merges = model.merges.map((m, i) => {
    const pair = typeof m === 'string' ? m.split(' ') : m;
    if (
      !Array.isArray(pair) ||
      pair.length !== 2 ||
      pair.some((p) => typeof p !== 'string' || p.length === 0 || p.includes(' '))
    )
      refuse(`model.merges[${i}] is not a pair of tokens without spaces`);
    return (pair as string[]).join(' ');
  });

  // Our tokenizer over the same files decides the special ids and what encode() adds around a text.
  const ours = new HfTokenizer(tokenizerJson, tokenizerConfig);
  const plain = ours.encode('a b', { addSpecialTokens: false });
  const full = ours.encode('a b');
  const addBos = ours.bosId !== undefined && full[0] === ours.bosId && plain[0] !== ours.bosId;
  const addEos = ours.eosId !== undefined && full.at(-1) === ours.eosId && plain.at(-1) !== ours.eosId;
  const rebuilt = [
    ...(addBos ? [ours.bosId as number] : []),
    ...plain,
    ...(addEos ? [ours.eosId as number] : []),
  ];
  if (rebuilt.length !== full.length || rebuilt.some((id, i) => id !== full[i]))
    refuse('post_processor adds tokens other than BOS first and EOS last, which llama.cpp cannot add');
  const unkName =
    typeof model.unk_token === 'string'
      ? model.unk_token
      : typeof tokenizerConfig.unk_token === 'string'
        ? tokenizerConfig.unk_token
        : undefined;
  const unkId = unkName === undefined ? undefined : padded.indexOf(unkName);
  const chatTemplate = tokenizerConfig.chat_template;
  return {
    pre: 'gpt-2',
    tokens: padded,
    tokenTypes: types,
    merges,
    ...(ours.bosId !== undefined ? { bosId: ours.bosId } : {}),
    ...(ours.eosId !== undefined ? { eosId: ours.eosId } : {}),
    ...(unkId !== undefined && unkId >= 0 ? { unkId } : {}),
    ...(ours.padId !== undefined ? { padId: ours.padId } : {}),
    addBos,
    addEos,
    ...(typeof chatTemplate === 'string' ? { chatTemplate } : {}),
  };
}

/** A LoRA adapter (PEFT layout) as llama.cpp's LoRA tensors, and the `adapter.lora.alpha` that keeps its scale. */
export function loraGgufTensors(
  adapter: AdapterWeights,
  c: LlamaConfig,
  where = 'adapter',
): { tensors: GgufTensor[]; alpha: number } {
  const peftType = adapter.config.peft_type;
  if (peftType !== 'LORA')
    throw new OppuError(
      'unsupported_adapter',
      `${where}/adapter_config.json: peft_type ${JSON.stringify(peftType)}; llama.cpp loads LoRA adapters only`,
    );
  checkGgufExportable(c);
  const config = loraConfigFromPeft(adapter.config, `${where}/adapter_config.json`);
  const r = config.r;
  const tensors: GgufTensor[] = [];
  const expected = new Set<string>();
  for (let l = 0; l < c.layers; l++) {
    for (const m of config.targetModules as ModuleName[]) {
      const [inF, outF] = projectionShape(c, m);
      const p = peftModulePath(l, m);
      expected.add(`${p}.lora_A.weight`).add(`${p}.lora_B.weight`);
      const a = takeTensor(adapter, `${p}.lora_A.weight`, [r, inF], where); // [r, in]
      const b = takeTensor(adapter, `${p}.lora_B.weight`, [outF, r], where); // [out, r]
      const name = `blk.${l}.${GGUF_PROJECTION_NAMES[m]}.weight`;
      // W + s·B·A with W's rows permuted is W' + s·(P·B)·A: only B's rows move.
      tensors.push({ name: `${name}.lora_a`, shape: [r, inF], data: a });
      tensors.push({ name: `${name}.lora_b`, shape: [outF, r], data: ropeRows(c, m, b, r) });
    }
  }
  checkNoExtraTensors(adapter, expected, where);
  // llama.cpp scales by alpha / r (rank = lora_a's rows); rsLoRA's alpha / sqrt(r) is the same scale.
  return { tensors, alpha: loraScaling(config) * r };
}

/** The GGUF bytes of a LoRA adapter for the base model of config `c` (`general.type` "adapter"). */
export function encodeLoraGguf(
  adapter: AdapterWeights,
  c: LlamaConfig,
  name: string,
  where = 'adapter',
): Uint8Array {
  const { tensors, alpha } = loraGgufTensors(adapter, c, where);
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', str('llama')],
    ['general.type', str('adapter')],
    ['general.name', str(name)],
    ['adapter.type', str('lora')],
    ['adapter.lora.alpha', f32(alpha)],
  ]);
  return encodeGguf(metadata, tensors);
}

async function readJson(file: string, optional = false): Promise<Json | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (optional && (error as { code?: string }).code === 'ENOENT') return undefined;
    throw new OppuError('checkpoint_not_found', `${file}: cannot read (${(error as Error).message})`, {
      cause: error,
    });
  }
  try {
    const json = JSON.parse(text) as unknown;
    if (!isObject(json)) throw new Error('not a JSON object');
    return json;
  } catch (error) {
    throw new OppuError('invalid_checkpoint', `${file}: is not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
}

export interface GgufExportOptions {
  /** `general.name`; default the config's `_name_or_path`, else the folder's name. */
  readonly name?: string;
}

export interface GgufExportResult {
  readonly file: string;
  readonly bytes: number;
  readonly tensors: number;
  readonly name: string;
}

async function modelName(dir: string, options: GgufExportOptions): Promise<string> {
  if (options.name) return options.name;
  const config = await readJson(path.join(dir, 'config.json'));
  const named = config?._name_or_path;
  return typeof named === 'string' && named !== '' ? named : path.basename(path.resolve(dir));
}

async function checkOutFile(outFile: string): Promise<void> {
  const isDir = await stat(outFile).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isDir)
    throw new OppuError(
      'invalid_argument',
      `${outFile}: is a folder; give the path of the .gguf file to write`,
    );
}

/**
 * Writes the base model of an HF folder (config.json, safetensors, tokenizer.json) as one float32 GGUF file that
 * llama.cpp loads (`llama-cli -m FILE`). The file is written atomically.
 */
export async function exportLlamaGguf(
  modelDir: string,
  outFile: string,
  options: GgufExportOptions = {},
): Promise<GgufExportResult> {
  await checkOutFile(outFile);
  const name = await modelName(modelDir, options);
  const tokenizerFile = path.join(modelDir, 'tokenizer.json');
  const tokenizerJson = await readJson(tokenizerFile);
  const tokenizerConfig = (await readJson(path.join(modelDir, 'tokenizer_config.json'), true)) ?? {};
  const ckpt = await loadHfCheckpoint(modelDir);
  const tokenizer = ggufTokenizerFromHf(tokenizerJson, tokenizerConfig, ckpt.config.vocab, tokenizerFile);
  const tensors = llamaGgufTensors(ckpt.config, ckpt.weights);
  const bytes = encodeGguf(llamaGgufMetadata(ckpt.config, tokenizer, name), tensors);
  await writeFileAtomic(outFile, bytes);
  return { file: outFile, bytes: bytes.length, tensors: tensors.length, name };
}

/**
 * Writes a user's LoRA adapter folder (PEFT layout) as a GGUF LoRA for the base model in `modelDir`
 * (`llama-cli -m base.gguf --lora FILE`); only the base's config.json is read. Written atomically.
 */
export async function exportLoraGguf(
  modelDir: string,
  adapterDir: string,
  outFile: string,
  options: GgufExportOptions = {},
): Promise<GgufExportResult> {
  await checkOutFile(outFile);
  const adapter = await loadAdapter(adapterDir);
  const configFile = path.join(modelDir, 'config.json');
  const config = llamaConfigFromHf(await readJson(configFile), configFile);
  const name = options.name ?? path.basename(path.resolve(adapterDir));
  const bytes = encodeLoraGguf(adapter, config, name, adapterDir);
  await writeFileAtomic(outFile, bytes);
  return { file: outFile, bytes: bytes.length, tensors: adapter.tensors.size, name };
}
