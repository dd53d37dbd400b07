import { OppuError } from '@oppu/core';

/**
 * A GGUF v3 writer (ggml's docs/gguf.md), for the files llama.cpp, Ollama and the other ggml executors load:
 * a header (magic `GGUF`, version, tensor and key counts), typed metadata key/value pairs, one info record
 * per tensor (name, dimensions innermost first, ggml type, data offset), then the tensor data, each tensor
 * starting at a multiple of the alignment. Everything is little-endian; tensors are float32 (GGML_TYPE_F32).
 */

/** One metadata value, typed as GGUF stores it. */
export type GgufValue =
  | { readonly type: 'uint32'; readonly value: number }
  | { readonly type: 'int32'; readonly value: number }
  | { readonly type: 'float32'; readonly value: number }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'string[]'; readonly value: readonly string[] }
  | { readonly type: 'int32[]'; readonly value: ArrayLike<number> };

/** Metadata in the order it is written (llama.cpp reads `general.architecture` first by convention). */
export type GgufMetadata = ReadonlyMap<string, GgufValue>;

/** A float32 tensor; `shape` is row-major, outermost first (PyTorch order), e.g. [out, in] for a weight. */
export interface GgufTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface GgufOptions {
  /** Byte alignment of the tensor data (`general.alignment`); default 32, written only when not 32. */
  readonly alignment?: number;
}

/** GGUF's metadata value types (gguf_metadata_value_type). */
const VALUE_TYPE = {
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
} as const;
const GGML_TYPE_F32 = 0;
const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_NAME (64) holds the terminating NUL: a tensor name is at most 63 bytes. */
const MAX_TENSOR_NAME_BYTES = 63;
/** ggml tensors have at most 4 dimensions. */
const MAX_DIMS = 4;

const utf8 = new TextEncoder();
/** Float32Array bytes can be copied as they are (every platform Node runs on today). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Grows as it is written; little-endian, as GGUF is. */
class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  u64(v: number): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  f32(v: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  u8(v: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  /** gguf_string_t: uint64 byte length, then the UTF-8 bytes (no NUL). */
  string(s: string): void {
    const b = utf8.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

const alignUp = (n: number, alignment: number) => n + ((alignment - (n % alignment)) % alignment);

function checkValue(key: string, v: GgufValue): void {
  const bad = (what: string) => {
    throw new OppuError('invalid_gguf', `GGUF metadata "${key}": ${what}`);
  };
  switch (v.type) {
    case 'uint32':
      if (!Number.isInteger(v.value) || v.value < 0 || v.value > 0xffffffff)
        bad(`${v.value} is not a uint32`);
      break;
    case 'int32':
      if (!Number.isInteger(v.value) || v.value < -0x80000000 || v.value > 0x7fffffff)
        bad(`${v.value} is not an int32`);
      break;
    case 'float32':
      if (!Number.isFinite(v.value)) bad(`${v.value} is not a finite number`);
      break;
    case 'int32[]':
      for (let i = 0; i < v.value.length; i++) {
        const x = v.value[i] as number;
        if (!Number.isInteger(x) || x < -0x80000000 || x > 0x7fffffff)
          bad(`element ${i} (${x}) is not an int32`);
      }
      break;
    default:
      break;
  }
}

function writeValue(w: ByteWriter, v: GgufValue): void {
  switch (v.type) {
    case 'uint32':
      w.u32(VALUE_TYPE.uint32);
      w.u32(v.value);
      return;
    case 'int32':
      w.u32(VALUE_TYPE.int32);
      w.i32(v.value);
      return;
    case 'float32':
      w.u32(VALUE_TYPE.float32);
      w.f32(v.value);
      return;
    case 'bool':
      w.u32(VALUE_TYPE.bool);
      w.u8(v.value ? 1 : 0);
      return;
    case 'string':
      w.u32(VALUE_TYPE.string);
      w.string(v.value);
      return;
    case 'string[]':
      w.u32(VALUE_TYPE.array);
      w.u32(VALUE_TYPE.string);
      w.u64(v.value.length);
      for (const s of v.value) w.string(s);
      return;
    case 'int32[]':
      w.u32(VALUE_TYPE.array);
      w.u32(VALUE_TYPE.int32);
      w.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) w.i32(v.value[i] as number);
      return;
  }
}

/**
 * The bytes of a GGUF v3 file holding `metadata` and `tensors` (float32), in the order given. Keys must be
 * ASCII `lower_snake_case` segments joined by dots, tensor names unique and at most 63 bytes, shapes 1 to 4
 * positive dimensions matching the data. Errors name the key or tensor.
 */
export function encodeGguf(
  metadata: GgufMetadata,
  tensors: readonly GgufTensor[],
  options: GgufOptions = {},
): Uint8Array {
  const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isSafeInteger(alignment) || alignment <= 0 || alignment % 8 !== 0)
    throw new OppuError('invalid_gguf', `GGUF alignment must be a positive multiple of 8, got ${alignment}`);
  const kv = new Map(metadata);
  if (kv.has('general.alignment'))
    throw new OppuError('invalid_gguf', 'GGUF metadata "general.alignment": set it with options.alignment');
  if (alignment !== GGUF_DEFAULT_ALIGNMENT) kv.set('general.alignment', { type: 'uint32', value: alignment });

  const w = new ByteWriter();
  w.bytes(utf8.encode('GGUF'));
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(kv.size);
  for (const [key, value] of kv) {
    if (!/^[a-z0-9_]+(\.[a-z0-9_]+)*$/.test(key) || key.length > 65535)
      throw new OppuError(
        'invalid_gguf',
        `GGUF metadata key "${key}": must be lower_snake_case segments joined by "." (ASCII)`,
      );
    checkValue(key, value);
    w.string(key);
    writeValue(w, value);
  }

  const names = new Set<string>();
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    const nameBytes = utf8.encode(t.name).length;
    if (nameBytes === 0 || nameBytes > MAX_TENSOR_NAME_BYTES)
      throw new OppuError(
        'invalid_gguf',
        `GGUF tensor "${t.name}": names are 1 to ${MAX_TENSOR_NAME_BYTES} bytes (ggml's limit), this one is ${nameBytes}`,
      );
    if (names.has(t.name)) throw new OppuError('invalid_gguf', `GGUF tensor "${t.name}": written twice`);
    names.add(t.name);
    if (
      t.shape.length < 1 ||
      t.shape.length > MAX_DIMS ||
      t.shape.some((d) => !Number.isSafeInteger(d) || d < 1)
    )
      throw new OppuError(
        'invalid_gguf',
        `GGUF tensor "${t.name}": shape [${t.shape.join(', ')}] must have 1 to ${MAX_DIMS} positive dimensions`,
      );
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length)
      throw new OppuError(
        'invalid_gguf',
        `GGUF tensor "${t.name}": shape [${t.shape.join(', ')}] holds ${count} values, the data has ${t.data.length}`,
      );
    w.string(t.name);
    w.u32(t.shape.length);
    // ggml's ne[0] is the innermost (contiguous) dimension: the PyTorch shape reversed.
    for (let i = t.shape.length - 1; i >= 0; i--) w.u64(t.shape[i] as number);
    w.u32(GGML_TYPE_F32);
    w.u64(offset);
    offsets.push(offset);
    offset = alignUp(offset + t.data.length * 4, alignment);
  }

  const header = w.result();
  const dataStart = alignUp(header.length, alignment);
  // Every tensor, the last one too, is padded to the alignment (ggml reads the data section whole).
  const out = new Uint8Array(dataStart + offset);
  out.set(header, 0);
  const view = new DataView(out.buffer);
  tensors.forEach((t, i) => {
    const at = dataStart + (offsets[i] as number);
    if (LITTLE_ENDIAN) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    else for (let j = 0; j < t.data.length; j++) view.setFloat32(at + j * 4, t.data[j] as number, true);
  });
  return out;
}
