import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { OppuError } from '@oppu/core';
import type { LlamaArrays, LlamaConfig, LlamaLayerArrays } from '../model/llama.js';
import { transpose2d } from './transpose.js';

export interface LoadedCheckpoint {
  readonly config: LlamaConfig;
  readonly weights: LlamaArrays;
  /** sha256 (hex) of the weights file(s), in file order. */
  readonly hash: string;
  /** What it was read from, for messages and `BaseModelInfo.name`. */
  readonly source: string;
}

const HEADER_INTS = 7;

/**
 * Reads a llama2.c checkpoint in the legacy (version 0) layout: seven int32 (dim, hidden_dim, n_layers,
 * n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means an unshared classifier follows),
 * then float32 arrays: token embedding [vocab, dim]; rms_att [L, dim]; wq [L, dim, dim]; wk, wv [L, kv_dim, dim];
 * wo [L, dim, dim]; rms_ffn [L, dim]; w1 [L, hidden, dim]; w2 [L, dim, hidden]; w3 [L, hidden, dim];
 * rms_final [dim]; freq_cis_real, freq_cis_imag [seq_len, head_size/2] (skipped: RoPE is recomputed);
 * then the classifier [vocab, dim] when unshared. Matrices are stored [out, in] and transposed to [in, out].
 * RoPE is llama2.c's interleaved-pair convention, eps 1e-5, theta 10000.
 */
export function parseLlama2c(bytes: Uint8Array, source = 'checkpoint.bin'): LoadedCheckpoint {
  if (bytes.byteLength < HEADER_INTS * 4)
    throw new OppuError(
      'invalid_checkpoint',
      `${source}: ${bytes.byteLength} bytes is too short for a llama2.c header`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [dim, hidden, layers, heads, kvHeads, vocabSigned, seqLen] = Array.from(
    { length: HEADER_INTS },
    (_, i) => view.getInt32(i * 4, true),
  ) as [number, number, number, number, number, number, number];
  const vocab = Math.abs(vocabSigned);
  const shared = vocabSigned > 0;
  const header = { dim, hidden, layers, heads, kvHeads, vocab, seqLen };
  for (const [k, v] of Object.entries(header)) {
    if (!(v > 0 && v < 1 << 24))
      throw new OppuError(
        'invalid_checkpoint',
        `${source}: header field ${k} = ${v} is not a plausible size; is this a llama2.c legacy (version 0) .bin?`,
      );
  }
  if (dim % heads !== 0 || heads % kvHeads !== 0)
    throw new OppuError(
      'invalid_checkpoint',
      `${source}: dim ${dim}, heads ${heads}, kv heads ${kvHeads} do not divide`,
    );
  const hd = dim / heads;
  const kvDim = kvHeads * hd;
  const sizes = {
    embed: vocab * dim,
    rmsAtt: layers * dim,
    wq: layers * dim * dim,
    wk: layers * kvDim * dim,
    wv: layers * kvDim * dim,
    wo: layers * dim * dim,
    rmsFfn: layers * dim,
    w1: layers * hidden * dim,
    w2: layers * dim * hidden,
    w3: layers * hidden * dim,
    rmsFinal: dim,
    freqs: seqLen * hd, // real and imaginary halves
    cls: shared ? 0 : vocab * dim,
  };
  const floats = Object.values(sizes).reduce((a, b) => a + b, 0);
  const expected = HEADER_INTS * 4 + floats * 4;
  if (bytes.byteLength !== expected)
    throw new OppuError(
      'invalid_checkpoint',
      `${source}: ${bytes.byteLength} bytes, but its header (${JSON.stringify(header)}, ${shared ? 'shared' : 'unshared'} classifier) needs ${expected}; the file is truncated or not a llama2.c legacy checkpoint`,
    );
  // Copy out as float32 (the input may not be 4-byte aligned).
  const all = new Float32Array(floats);
  new Uint8Array(all.buffer).set(bytes.subarray(HEADER_INTS * 4, expected));
  let offset = 0;
  const take = (n: number) => {
    const a = all.subarray(offset, offset + n);
    offset += n;
    return a;
  };
  const embed = take(sizes.embed).slice();
  const rmsAtt = take(sizes.rmsAtt);
  const wq = take(sizes.wq);
  const wk = take(sizes.wk);
  const wv = take(sizes.wv);
  const wo = take(sizes.wo);
  const rmsFfn = take(sizes.rmsFfn);
  const w1 = take(sizes.w1);
  const w2 = take(sizes.w2);
  const w3 = take(sizes.w3);
  const norm = take(sizes.rmsFinal).slice();
  take(sizes.freqs);
  const cls = shared ? undefined : take(sizes.cls);

  // Per layer: slice [out, in] and transpose to [in, out].
  const mat = (a: Float32Array, l: number, out: number, inF: number) =>
    transpose2d(a.subarray(l * out * inF, (l + 1) * out * inF), out, inF);
  const layerArrays: LlamaLayerArrays[] = [];
  for (let l = 0; l < layers; l++) {
    layerArrays.push({
      attnNorm: rmsAtt.slice(l * dim, (l + 1) * dim),
      q_proj: mat(wq, l, dim, dim),
      k_proj: mat(wk, l, kvDim, dim),
      v_proj: mat(wv, l, kvDim, dim),
      o_proj: mat(wo, l, dim, dim),
      ffnNorm: rmsFfn.slice(l * dim, (l + 1) * dim),
      gate_proj: mat(w1, l, hidden, dim),
      up_proj: mat(w3, l, hidden, dim),
      down_proj: mat(w2, l, dim, hidden),
    });
  }
  const config: LlamaConfig = {
    dim,
    hidden,
    layers,
    heads,
    kvHeads,
    vocab,
    maxSeqLen: seqLen,
    normEps: 1e-5,
    ropeTheta: 10000,
    ropeStyle: 'interleaved',
    tiedEmbeddings: shared,
  };
  return {
    config,
    weights: { embed, layers: layerArrays, norm, ...(cls ? { lmHead: transpose2d(cls, vocab, dim) } : {}) },
    hash: createHash('sha256').update(bytes).digest('hex'),
    source,
  };
}

/** Reads and parses a llama2.c `.bin` file. */
export async function loadLlama2c(path: string): Promise<LoadedCheckpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new OppuError(
      'checkpoint_not_found',
      `${path}: cannot read the llama2.c checkpoint (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
  return parseLlama2c(bytes, path);
}
