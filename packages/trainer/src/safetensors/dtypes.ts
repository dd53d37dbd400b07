import { type DType, OppuError } from '@oppu/core';

/**
 * The safetensors dtypes we read and write, and how they map onto `HostTensor`.
 * Float dtypes are handed out as Float32Array (fp16/bf16/f64 converted on read); the `HostTensor.dtype`
 * keeps the stored precision (`float16`, `bfloat16`) so a tensor written back keeps its size on disk.
 */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8' | 'BOOL';

export interface DtypeInfo {
  /** Bytes per element on disk. */
  readonly size: number;
  /** What the tensor becomes in memory. */
  readonly host: DType;
}

export const DTYPES: Readonly<Record<SafetensorsDtype, DtypeInfo>> = Object.freeze({
  F64: { size: 8, host: 'float32' },
  F32: { size: 4, host: 'float32' },
  F16: { size: 2, host: 'float16' },
  BF16: { size: 2, host: 'bfloat16' },
  I64: { size: 8, host: 'int64' },
  I32: { size: 4, host: 'int32' },
  U8: { size: 1, host: 'uint8' },
  BOOL: { size: 1, host: 'uint8' },
});

/** Dtypes the format defines that we refuse with a clear message (no lossless HostTensor for them). */
export const UNSUPPORTED_DTYPES: ReadonlySet<string> = new Set([
  'I8',
  'I16',
  'U16',
  'U32',
  'U64',
  'F8_E4M3',
  'F8_E5M2',
  'F8_E8M0',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'C64',
]);

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPES, value);
}

/** The on-disk dtype a HostTensor is written as. */
export function safetensorsDtypeOf(dtype: DType): SafetensorsDtype {
  switch (dtype) {
    case 'float32':
      return 'F32';
    case 'float16':
      return 'F16';
    case 'bfloat16':
      return 'BF16';
    case 'int32':
      return 'I32';
    case 'int64':
      return 'I64';
    case 'uint8':
      return 'U8';
    default:
      throw new OppuError(
        'invalid_tensor',
        `dtype ${JSON.stringify(dtype)} cannot be written to safetensors`,
      );
  }
}

// --- half precision -------------------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits -> float32 value (subnormals, inf and NaN included). */
export function f16BitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float -> IEEE 754 binary16 bits, rounding to nearest even (as numpy/torch `.half()`). */
export function floatToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    // subnormal half (or zero): shift the implicit 1 in, round to nearest even
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && m & 1)) m += 1;
    return sign | m;
  }
  const rest = mant & 0x1fff;
  let m = mant >>> 13;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m += 1;
    if (m === 0x400) {
      m = 0;
      e += 1;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** bfloat16 bits -> float32 value (the top half of a float32). */
export function bf16BitsToFloat(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0] as number;
}

/** float -> bfloat16 bits, rounding to nearest even (as torch `.bfloat16()`); NaN stays NaN. */
export function floatToBf16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}
