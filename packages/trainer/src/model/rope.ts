import { OppuError } from '@oppu/core';

/**
 * Rotary position embedding frequencies, as HF transformers' `modeling_rope_utils` computes them
 * (`_compute_default_rope_parameters`, `_compute_linear_scaling_rope_parameters`,
 * `_compute_dynamic_ntk_parameters`, `_compute_llama3_parameters`). Pair j of a head of size hd (j < hd/2)
 * turns by the angle pos * invFreq[j]; the scaled types change invFreq only (their attention factor is 1).
 */

/** A checkpoint's `rope_scaling`, in the decoder's words. */
export type RopeScaling =
  /** Position interpolation: every frequency divided by `factor`. */
  | { readonly type: 'linear'; readonly factor: number }
  /**
   * Dynamic NTK: past `maxPositionEmbeddings` positions the base grows with the sequence length; within it
   * (where the decoder runs: it refuses longer sequences) the frequencies are the default ones, as in HF.
   */
  | { readonly type: 'dynamic'; readonly factor: number }
  /** Llama 3.1: low frequencies divided by `factor`, high ones kept, the band between interpolated. */
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositionEmbeddings: number;
    };

/** theta^(-2j/hd) for j < hd/2: HF's `1 / base ** (arange(0, dim, 2) / dim)`. */
export function defaultInvFreq(headDim: number, theta: number): Float64Array {
  const half = headDim / 2;
  const out = new Float64Array(half);
  for (let j = 0; j < half; j++) out[j] = theta ** (-(2 * j) / headDim);
  return out;
}

/**
 * The inverse frequencies [hd/2] for a head size, base and scaling. `seqLen` matters only for 'dynamic'
 * (HF's `seq_len`: the longest position + 1 so far; below `maxPositionEmbeddings` it changes nothing).
 */
export function ropeInvFreq(
  headDim: number,
  theta: number,
  scaling?: RopeScaling,
  opts: { maxPositionEmbeddings?: number; seqLen?: number } = {},
): Float64Array {
  if (!scaling) return defaultInvFreq(headDim, theta);
  switch (scaling.type) {
    case 'linear':
      return defaultInvFreq(headDim, theta).map((f) => f / scaling.factor);
    case 'dynamic': {
      const max = opts.maxPositionEmbeddings;
      if (max === undefined)
        throw new OppuError('invalid_model_config', 'rope: dynamic scaling needs maxPositionEmbeddings');
      const seqLen = Math.max(opts.seqLen ?? max, max);
      const base =
        theta * ((scaling.factor * seqLen) / max - (scaling.factor - 1)) ** (headDim / (headDim - 2));
      return defaultInvFreq(headDim, base);
    }
    case 'llama3': {
      const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: old } = scaling;
      const lowFreqWavelen = old / lowFreqFactor;
      const highFreqWavelen = old / highFreqFactor;
      return defaultInvFreq(headDim, theta).map((f) => {
        const wavelen = (2 * Math.PI) / f;
        if (wavelen < highFreqWavelen) return f; // high frequency: kept
        if (wavelen > lowFreqWavelen) return f / factor; // low frequency: interpolated
        const smooth = (old / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return ((1 - smooth) * f) / factor + smooth * f;
      });
    }
  }
}

/**
 * cos and sin of pos * invFreq[j], [positions, hd/2] row-major (float32, as HF evaluates them). Both RoPE
 * conventions (llama2.c's interleaved pairs, HF's rotate_half) use these angles.
 */
export function ropeAngleTables(
  invFreq: Float64Array,
  positions: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let j = 0; j < half; j++) {
      const angle = p * (invFreq[j] as number);
      cos[p * half + j] = Math.cos(angle);
      sin[p * half + j] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Reads an HF `rope_scaling` object (`rope_type`, or the older `type`); null/absent/'default' is no
 * scaling. Refuses the types the decoder does not implement, and unknown fields, naming them.
 */
export function ropeScalingFromHf(value: unknown, file = 'config.json'): RopeScaling | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new OppuError('invalid_model_config', `${file}: "rope_scaling" must be an object or null`);
  const r = value as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  const factor = (): number => {
    const f = r.factor;
    if (typeof f !== 'number' || !(f >= 1))
      throw new OppuError(
        'invalid_model_config',
        `${file}: "rope_scaling.factor" must be a number >= 1, got ${JSON.stringify(f)}`,
      );
    return f;
  };
  const known = (keys: readonly string[]) => {
    for (const k of Object.keys(r)) {
      if (!['rope_type', 'type', ...keys].includes(k))
        throw new OppuError(
          'unsupported_model',
          `${file}: "rope_scaling.${k}" is not supported for rope type "${String(type)}"`,
        );
    }
  };
  switch (type) {
    case 'default':
      known([]);
      return undefined;
    case 'linear':
    case 'dynamic':
      known(['factor']);
      return { type, factor: factor() };
    case 'llama3': {
      known(['factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings']);
      const num = (k: string): number => {
        const v = r[k];
        if (typeof v !== 'number' || !(v > 0))
          throw new OppuError(
            'invalid_model_config',
            `${file}: "rope_scaling.${k}" must be a positive number, got ${JSON.stringify(v)}`,
          );
        return v;
      };
      const lowFreqFactor = num('low_freq_factor');
      const highFreqFactor = num('high_freq_factor');
      if (!(highFreqFactor > lowFreqFactor))
        throw new OppuError(
          'invalid_model_config',
          `${file}: "rope_scaling.high_freq_factor" must exceed low_freq_factor`,
        );
      return {
        type,
        factor: factor(),
        lowFreqFactor,
        highFreqFactor,
        originalMaxPositionEmbeddings: num('original_max_position_embeddings'),
      };
    }
    default:
      throw new OppuError(
        'unsupported_model',
        `${file}: "rope_scaling.rope_type" ${JSON.stringify(type)} is not supported (linear, dynamic, llama3)`,
      );
  }
}

/** The HF `rope_scaling` object for a decoder's scaling (writers). */
export function ropeScalingToHf(s: RopeScaling | undefined): Record<string, unknown> | null {
  if (!s) return null;
  if (s.type !== 'llama3') return { rope_type: s.type, factor: s.factor };
  return {
    rope_type: 'llama3',
    factor: s.factor,
    low_freq_factor: s.lowFreqFactor,
    high_freq_factor: s.highFreqFactor,
    original_max_position_embeddings: s.originalMaxPositionEmbeddings,
  };
}
