import { describe, expect, it } from 'vitest';
import { ropeAngleTables, ropeInvFreq, ropeScalingFromHf, ropeScalingToHf } from './rope.js';

// Hand-computed: head size 8, theta 10000 gives theta^(-2j/8) = 1, 0.1, 0.01, 0.001.
const close = (a: ArrayLike<number>, b: readonly number[], digits = 9) => {
  expect(a.length).toBe(b.length);
  for (const [i, v] of b.entries()) expect(a[i]).toBeCloseTo(v, digits);
};

describe('rope frequencies (HF modeling_rope_utils)', () => {
  it('default: theta^(-2j/hd)', () => {
    close(ropeInvFreq(8, 10000), [1, 0.1, 0.01, 0.001]);
  });

  it('linear: every frequency divided by the factor', () => {
    close(ropeInvFreq(8, 10000, { type: 'linear', factor: 4 }), [0.25, 0.025, 0.0025, 0.00025]);
  });

  it('llama3: high frequencies kept, low ones divided, the band between smoothed', () => {
    // original context 64, low/high freq factors 1/4: wavelengths under 16 kept, over 64 divided by 8.
    // Wavelengths 2π, 20π (in the band), 200π, 2000π. For 20π: s = (64 / 20π - 1) / 3, f = (1 - s)·0.1/8 + s·0.1.
    const s = (64 / (20 * Math.PI) - 1) / 3;
    expect(s).toBeCloseTo(0.0061972, 6);
    const f = ropeInvFreq(8, 10000, {
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 64,
    });
    close(f, [1, 0.013042256, 0.00125, 0.000125], 8);
    expect(f[1]).toBeCloseTo(((1 - s) * 0.1) / 8 + s * 0.1, 12);
  });

  it('llama3 with the Llama 3.1 settings on a 64-wide head', () => {
    // Llama 3.1/3.2: theta 500000, factor 8 (3.2: 32), low 1, high 4, original context 8192.
    const scaled = ropeInvFreq(64, 500000, {
      type: 'llama3',
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    });
    const plain = ropeInvFreq(64, 500000);
    // Pair 0 (wavelength 2π) is kept; the last pair (wavelength ≈ 2π·500000^(62/64)) is divided by 32.
    expect(scaled[0]).toBe(plain[0]);
    expect(scaled[31]).toBeCloseTo((plain[31] as number) / 32, 15);
    const wavelen = (j: number) => (2 * Math.PI) / (plain[j] as number);
    for (let j = 0; j < 32; j++) {
      if (wavelen(j) < 2048) expect(scaled[j]).toBe(plain[j]);
      else if (wavelen(j) > 8192) expect(scaled[j]).toBe((plain[j] as number) / 32);
      else {
        expect(scaled[j]).toBeLessThan(plain[j] as number);
        expect(scaled[j]).toBeGreaterThan((plain[j] as number) / 32);
      }
    }
  });

  it('dynamic: unchanged within max_position_embeddings, a larger base past it', () => {
    const dyn = { type: 'dynamic', factor: 2 } as const;
    close(ropeInvFreq(8, 10000, dyn, { maxPositionEmbeddings: 16 }), [1, 0.1, 0.01, 0.001]);
    close(ropeInvFreq(8, 10000, dyn, { maxPositionEmbeddings: 16, seqLen: 10 }), [1, 0.1, 0.01, 0.001]);
    // seq 32 of 16: base = 10000 · (2·32/16 − 1)^(8/6) = 10000 · 3^(4/3), so f_j = 10^-j · 3^(-j/3).
    close(ropeInvFreq(8, 10000, dyn, { maxPositionEmbeddings: 16, seqLen: 32 }), [
      1,
      0.1 * 3 ** (-1 / 3),
      0.01 * 3 ** (-2 / 3),
      0.001 / 3,
    ]);
    expect(3 ** (-1 / 3)).toBeCloseTo(0.6933613, 6);
  });

  it('angle tables: cos/sin of pos · f, [positions, hd/2]', () => {
    const { cos, sin } = ropeAngleTables(Float64Array.from([1, 0.5]), 3);
    close(cos, [1, 1, Math.cos(1), Math.cos(0.5), Math.cos(2), Math.cos(1)], 6);
    close(sin, [0, 0, Math.sin(1), Math.sin(0.5), Math.sin(2), Math.sin(1)], 6);
  });
});

describe('rope_scaling in config.json', () => {
  it('reads rope_type (and the older "type"), default and null as none', () => {
    expect(ropeScalingFromHf(null)).toBeUndefined();
    expect(ropeScalingFromHf({ rope_type: 'default' })).toBeUndefined();
    expect(ropeScalingFromHf({ type: 'linear', factor: 2 })).toEqual({ type: 'linear', factor: 2 });
    expect(ropeScalingFromHf({ rope_type: 'dynamic', factor: 4 })).toEqual({ type: 'dynamic', factor: 4 });
    const llama31 = {
      factor: 8.0,
      low_freq_factor: 1.0,
      high_freq_factor: 4.0,
      original_max_position_embeddings: 8192,
      rope_type: 'llama3',
    };
    const s = ropeScalingFromHf(llama31);
    expect(s).toEqual({
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    });
    expect(ropeScalingFromHf(ropeScalingToHf(s))).toEqual(s);
  });

  it('refuses other types and unknown fields, naming the key', () => {
    expect(() => ropeScalingFromHf({ rope_type: 'yarn', factor: 4 }, 'm/config.json')).toThrow(
      'm/config.json: "rope_scaling.rope_type" "yarn" is not supported (linear, dynamic, llama3)',
    );
    expect(() => ropeScalingFromHf({ rope_type: 'linear', factor: 2, mscale: 1 })).toThrow(
      '"rope_scaling.mscale" is not supported',
    );
    expect(() => ropeScalingFromHf({ rope_type: 'linear' })).toThrow(
      '"rope_scaling.factor" must be a number',
    );
  });
});
