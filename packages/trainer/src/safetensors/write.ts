import { type HostTensor, OppuError, writeFileAtomic } from '@oppu/core';
import {
  DTYPES,
  floatToBf16Bits,
  floatToF16Bits,
  type SafetensorsDtype,
  safetensorsDtypeOf,
} from './dtypes.js';

/**
 * A deterministic safetensors writer. Tensors are laid out as the reference implementation does (largest
 * dtype first, then by name), so every tensor starts aligned to its element size; the header lists
 * `__metadata__` first and is padded with spaces to a multiple of 8 bytes. The same input always gives the
 * same bytes.
 */

export type TensorsInput = ReadonlyMap<string, HostTensor> | Readonly<Record<string, HostTensor>>;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bad(name: string, what: string): never {
  throw new OppuError('invalid_tensor', `tensor "${name}": ${what}`);
}

function encode(name: string, t: HostTensor, dtype: SafetensorsDtype, count: number): Uint8Array {
  const size = DTYPES[dtype].size;
  const out = new Uint8Array(count * size);
  const view = new DataView(out.buffer);
  const { data } = t;
  // Raw bytes are accepted for any dtype (already encoded little-endian).
  if (data instanceof Uint8Array && dtype !== 'U8') {
    if (data.length !== out.length)
      bad(name, `has ${data.length} raw bytes, expected ${out.length} for ${dtype}`);
    out.set(data);
    return out;
  }
  if (data.length !== count)
    bad(name, `has ${data.length} values but shape [${t.shape.join(', ')}] needs ${count}`);
  switch (dtype) {
    case 'F32':
      if (!(data instanceof Float32Array)) bad(name, 'float32 data must be a Float32Array');
      if (littleEndian) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      else for (let i = 0; i < count; i++) view.setFloat32(i * 4, data[i] as number, true);
      return out;
    case 'F16':
      if (!(data instanceof Float32Array)) bad(name, 'float16 data must be a Float32Array (or raw bytes)');
      for (let i = 0; i < count; i++) view.setUint16(i * 2, floatToF16Bits(data[i] as number), true);
      return out;
    case 'BF16':
      if (!(data instanceof Float32Array)) bad(name, 'bfloat16 data must be a Float32Array (or raw bytes)');
      for (let i = 0; i < count; i++) view.setUint16(i * 2, floatToBf16Bits(data[i] as number), true);
      return out;
    case 'I32':
      if (!(data instanceof Int32Array)) bad(name, 'int32 data must be an Int32Array');
      if (littleEndian) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      else for (let i = 0; i < count; i++) view.setInt32(i * 4, data[i] as number, true);
      return out;
    case 'I64':
      if (!(data instanceof BigInt64Array)) bad(name, 'int64 data must be a BigInt64Array (or raw bytes)');
      for (let i = 0; i < count; i++) view.setBigInt64(i * 8, data[i] as bigint, true);
      return out;
    case 'U8':
      if (!(data instanceof Uint8Array)) bad(name, 'uint8 data must be a Uint8Array');
      out.set(data);
      return out;
    default:
      return bad(name, `cannot write dtype ${dtype}`);
  }
}

/** Serialises tensors (and optional `__metadata__` strings) to safetensors bytes. */
export function writeSafetensors(
  tensors: TensorsInput,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const list: [string, HostTensor][] =
    tensors instanceof Map ? [...tensors] : Object.entries(tensors as Record<string, HostTensor>);
  const items = list.map(([name, t]) => {
    if (name === '__metadata__') bad(name, 'the name is reserved for metadata');
    const shape: readonly unknown[] = Array.isArray(t.shape) ? t.shape : [Number.NaN];
    if (!shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0))
      bad(name, `shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`);
    const dtype = safetensorsDtypeOf(t.dtype);
    const count = t.shape.reduce((a, b) => a * b, 1);
    return { name, dtype, bytes: encode(name, t, dtype, count), shape: [...t.shape] };
  });
  items.sort(
    (a, b) => DTYPES[b.dtype].size - DTYPES[a.dtype].size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );

  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string')
        throw new OppuError('invalid_metadata', `__metadata__ "${k}" must be a string`);
    }
    header.__metadata__ = Object.fromEntries(
      Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  }
  let offset = 0;
  for (const it of items) {
    header[it.name] = { dtype: it.dtype, shape: it.shape, data_offsets: [offset, offset + it.bytes.length] };
    offset += it.bytes.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const it of items) {
    out.set(it.bytes, at);
    at += it.bytes.length;
  }
  return out;
}

/** Writes a safetensors file atomically and durably (`writeFileAtomic` of @oppu/core). */
export async function writeSafetensorsFile(
  path: string,
  tensors: TensorsInput,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  await writeFileAtomic(path, writeSafetensors(tensors, metadata));
}
