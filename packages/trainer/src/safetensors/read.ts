import { readFile } from 'node:fs/promises';
import { type HostTensor, OppuError } from '@oppu/core';
import {
  bf16BitsToFloat,
  DTYPES,
  f16BitsToFloat,
  isSafetensorsDtype,
  type SafetensorsDtype,
  UNSUPPORTED_DTYPES,
} from './dtypes.js';

/**
 * A safetensors reader for untrusted files (https://github.com/huggingface/safetensors, "Format"):
 *
 *   [8 bytes: N, u64 little-endian] [N bytes: JSON header, may end in spaces] [data section]
 *
 * The header maps tensor names to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the data
 * section), plus an optional `__metadata__` map of strings. Everything is checked before any tensor memory is
 * allocated: the header length is bounded, the JSON is an object, each dtype is known, each shape is a list of
 * non-negative integers whose element count matches the byte range, and the byte ranges lie inside the data
 * section, do not overlap and leave no holes (as the reference implementation requires).
 */

/** The reference implementation's bound on the header size. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsInfo {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Byte range inside the data section. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in file order (by offset). */
  readonly tensors: ReadonlyMap<string, SafetensorsInfo>;
  /** Where the data section starts in the file: 8 + N. */
  readonly dataStart: number;
}

export interface ReadSafetensorsOptions {
  /** Named in errors; `<bytes>` when absent. */
  readonly file?: string;
  /** Only these tensors are decoded (the header is still validated whole). */
  readonly names?: Iterable<string>;
}

export interface SafetensorsFile {
  readonly tensors: Map<string, HostTensor>;
  readonly metadata: Record<string, string>;
}

function fail(file: string, what: string): never {
  throw new OppuError(
    'invalid_safetensors',
    `${file}: ${what} (the file is not valid safetensors; re-export it)`,
  );
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses and validates the header of a safetensors byte buffer; allocates nothing for tensor data. */
export function readSafetensorsHeader(bytes: Uint8Array, options: { file?: string } = {}): SafetensorsHeader {
  const file = options.file ?? '<bytes>';
  if (bytes.length < 8) fail(file, `file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES))
    fail(file, `header length ${n64} is over the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(n64);
  if (n > bytes.length - 8)
    fail(file, `header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  if (n < 2) fail(file, `header length ${n} is too short for a JSON object`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail(file, 'header is not valid UTF-8');
  }
  if (text[0] !== '{') fail(file, 'header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    fail(file, `header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail(file, 'header is not a JSON object');

  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const entries: [string, SafetensorsInfo][] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        fail(file, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') fail(file, `__metadata__ "${k}" is not a string`);
      }
      metadata = { ...(raw as Record<string, string>) };
      continue;
    }
    const where = `tensor "${name}"`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      fail(file, `${where}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (!isSafetensorsDtype(dtype)) {
      const shown = JSON.stringify(dtype)?.slice(0, 40);
      if (typeof dtype === 'string' && UNSUPPORTED_DTYPES.has(dtype))
        fail(
          file,
          `${where}: dtype ${shown} is not supported (supported: ${Object.keys(DTYPES).join(', ')})`,
        );
      fail(file, `${where}: unknown dtype ${shown}`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount))
      fail(
        file,
        `${where}: shape ${JSON.stringify(shape)?.slice(0, 80)} is not a list of non-negative integers`,
      );
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount))
      fail(file, `${where}: data_offsets ${JSON.stringify(offsets)?.slice(0, 80)} is not [begin, end]`);
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(file, `${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength)
      fail(file, `${where}: data_offsets [${begin}, ${end}] run past the data section (${dataLength} bytes)`);
    // Element count, bounded as we go so a huge shape cannot overflow.
    const size = DTYPES[dtype].size;
    let count = shape.includes(0) ? 0 : 1;
    for (const d of shape as number[]) {
      count *= d;
      if (count * size > dataLength)
        fail(file, `${where}: shape [${shape.join(', ')}] is larger than the data section`);
    }
    if (count * size !== end - begin)
      fail(
        file,
        `${where}: shape [${shape.join(', ')}] of ${dtype} needs ${count * size} bytes but data_offsets hold ${end - begin}`,
      );
    entries.push([name, { dtype, shape: shape as number[], begin, end }]);
  }

  // Byte ranges: sorted, contiguous, covering the data section (no overlap, no hole).
  entries.sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let at = 0;
  let previous = '';
  for (const [name, info] of entries) {
    if (info.begin < at)
      fail(file, `tensor "${name}": data_offsets [${info.begin}, ${info.end}] overlap tensor "${previous}"`);
    if (info.begin > at)
      fail(file, `tensor "${name}": data_offsets start at ${info.begin}, leaving a hole after byte ${at}`);
    at = info.end;
    previous = name;
  }
  if (at !== dataLength) fail(file, `data section is ${dataLength} bytes but the tensors cover ${at}`);
  return { metadata, tensors: new Map(entries), dataStart };
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copies the bytes out (never aliasing the file buffer) and converts float16/bfloat16/float64 to float32. */
function decode(bytes: Uint8Array, info: SafetensorsInfo, dataStart: number): HostTensor {
  const raw = bytes.subarray(dataStart + info.begin, dataStart + info.end);
  const { host, size } = DTYPES[info.dtype];
  const count = raw.length / size;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape = [...info.shape];
  switch (info.dtype) {
    case 'F32': {
      const data = new Float32Array(count);
      if (littleEndian) new Uint8Array(data.buffer).set(raw);
      else for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
      return { dtype: host, shape, data };
    }
    case 'F64': {
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(i * 8, true);
      return { dtype: host, shape, data };
    }
    case 'F16': {
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = f16BitsToFloat(view.getUint16(i * 2, true));
      return { dtype: host, shape, data };
    }
    case 'BF16': {
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = bf16BitsToFloat(view.getUint16(i * 2, true));
      return { dtype: host, shape, data };
    }
    case 'I32': {
      const data = new Int32Array(count);
      if (littleEndian) new Uint8Array(data.buffer).set(raw);
      else for (let i = 0; i < count; i++) data[i] = view.getInt32(i * 4, true);
      return { dtype: host, shape, data };
    }
    case 'I64': {
      const data = new BigInt64Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getBigInt64(i * 8, true);
      return { dtype: host, shape, data };
    }
    case 'U8':
    case 'BOOL':
      return { dtype: host, shape, data: raw.slice() };
  }
}

/**
 * Reads a safetensors buffer: tensors by name (in file order) and the `__metadata__` strings.
 * Throws `OppuError('invalid_safetensors')` naming the file and tensor for any malformed input.
 */
export function readSafetensors(bytes: Uint8Array, options: ReadSafetensorsOptions = {}): SafetensorsFile {
  const header = readSafetensorsHeader(bytes, options);
  const wanted = options.names ? new Set(options.names) : undefined;
  if (wanted) {
    for (const name of wanted) {
      if (!header.tensors.has(name))
        throw new OppuError('missing_tensor', `${options.file ?? '<bytes>'}: has no tensor "${name}"`);
    }
  }
  const tensors = new Map<string, HostTensor>();
  for (const [name, info] of header.tensors) {
    if (wanted && !wanted.has(name)) continue;
    tensors.set(name, decode(bytes, info, header.dataStart));
  }
  return { tensors, metadata: { ...header.metadata } };
}

/** Reads a safetensors file from disk (see `readSafetensors`). */
export async function readSafetensorsFile(
  path: string,
  options: Omit<ReadSafetensorsOptions, 'file'> = {},
): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new OppuError('file_unreadable', `${path}: cannot read (${(err as Error).message})`, {
      cause: err,
    });
  }
  return readSafetensors(bytes, { ...options, file: path });
}
