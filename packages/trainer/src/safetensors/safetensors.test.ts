import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HostTensor, OppuError } from '@oppu/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { bf16BitsToFloat, f16BitsToFloat, floatToBf16Bits, floatToF16Bits } from './dtypes.js';
import { MAX_HEADER_BYTES, readSafetensors, readSafetensorsFile } from './read.js';
import { writeSafetensors, writeSafetensorsFile } from './write.js';

/** Builds a file by hand from a header object and a data section, as a hostile producer could. */
function craft(header: unknown, data: Uint8Array | number = 0, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

function expectInvalid(bytes: Uint8Array, pattern: RegExp, file = 'x.safetensors') {
  let caught: unknown;
  try {
    readSafetensors(bytes, { file });
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(OppuError);
  expect((caught as OppuError).code).toBe('invalid_safetensors');
  expect((caught as OppuError).message).toContain(file);
  expect((caught as OppuError).message).toMatch(pattern);
}

const f32 = (shape: number[], values: number[]): HostTensor => ({
  dtype: 'float32',
  shape,
  data: Float32Array.from(values),
});

describe('safetensors round trip', () => {
  it('writes what the Python library writes, byte for byte', () => {
    // safetensors.torch.save_file({"a": torch.tensor([1.0, 2.0]), "b": torch.tensor([[3]], dtype=torch.int32)})
    // header: {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[1,1],"data_offsets":[8,12]}}
    const bytes = writeSafetensors({
      b: { dtype: 'int32', shape: [1, 1], data: Int32Array.from([3]) },
      a: f32([2], [1, 2]),
    });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(header.trimEnd()).toBe(
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[1,1],"data_offsets":[8,12]}}',
    );
    expect(bytes.length).toBe(8 + n + 12);
    expect([...bytes.subarray(8 + n)]).toEqual([0, 0, 128, 63, 0, 0, 0, 64, 3, 0, 0, 0]);
  });

  it('preserves every dtype, shape and the metadata', () => {
    const tensors = new Map<string, HostTensor>([
      ['w', f32([2, 3], [1, -2, 3.5, 0, 1e-8, -7])],
      ['half', { dtype: 'float16', shape: [3], data: Float32Array.from([1, -0.5, 65504]) }],
      ['brain', { dtype: 'bfloat16', shape: [2], data: Float32Array.from([1, -3]) }],
      ['ids', { dtype: 'int32', shape: [2], data: Int32Array.from([-1, 7]) }],
      ['big', { dtype: 'int64', shape: [1], data: BigInt64Array.from([1n << 40n]) }],
      ['mask', { dtype: 'uint8', shape: [2, 2], data: Uint8Array.from([0, 1, 2, 255]) }],
      ['empty', f32([0, 4], [])],
      ['scalar', f32([], [42])],
    ]);
    const bytes = writeSafetensors(tensors, { format: 'pt', note: 'hi' });
    const back = readSafetensors(bytes);
    expect(back.metadata).toEqual({ format: 'pt', note: 'hi' });
    expect([...back.tensors.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [name, t] of tensors) {
      const r = back.tensors.get(name) as HostTensor;
      expect(r.dtype, name).toBe(t.dtype);
      expect(r.shape, name).toEqual(t.shape);
      expect([...r.data], name).toEqual([...t.data]);
    }
    // deterministic: same input, same bytes, whatever the insertion order
    const reordered = new Map([...tensors].reverse());
    expect(writeSafetensors(reordered, { note: 'hi', format: 'pt' })).toEqual(bytes);
  });

  it('aligns every tensor to its element size', () => {
    const bytes = writeSafetensors({
      h: { dtype: 'float16', shape: [3], data: new Float32Array(3) },
      f: f32([1], [1]),
      u: { dtype: 'uint8', shape: [1], data: new Uint8Array(1) },
      l: { dtype: 'int64', shape: [1], data: new BigInt64Array(1) },
    });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    for (const [name, size] of [
      ['l', 8],
      ['f', 4],
      ['h', 2],
    ] as const) {
      expect((8 + n + header[name].data_offsets[0]) % size, name).toBe(0);
    }
  });

  it('converts float16 and bfloat16 like numpy/torch (round to nearest even)', () => {
    expect(f16BitsToFloat(0x3c00)).toBe(1);
    expect(f16BitsToFloat(0xc000)).toBe(-2);
    expect(f16BitsToFloat(0x7bff)).toBe(65504);
    expect(f16BitsToFloat(0x0001)).toBe(2 ** -24);
    expect(f16BitsToFloat(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(f16BitsToFloat(0x7e00)).toBeNaN();
    expect(floatToF16Bits(1)).toBe(0x3c00);
    expect(floatToF16Bits(65520)).toBe(0x7c00); // rounds up past max -> inf (numpy: inf)
    expect(floatToF16Bits(2 ** -25)).toBe(0); // exactly half the smallest subnormal -> even (0)
    expect(floatToF16Bits(1.5 * 2 ** -25)).toBe(1);
    expect(floatToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(floatToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(floatToF16Bits(-0)).toBe(0x8000);
    expect(floatToBf16Bits(1)).toBe(0x3f80);
    expect(floatToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(floatToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(bf16BitsToFloat(0xc040)).toBe(-3);
    // every half value survives a round trip through float32
    for (let h = 0; h < 0x10000; h++) {
      const v = f16BitsToFloat(h);
      if (!Number.isNaN(v)) expect(floatToF16Bits(v)).toBe(h);
    }
  });

  it('reads only the tensors asked for', () => {
    const bytes = writeSafetensors({ a: f32([1], [1]), b: f32([1], [2]) });
    const { tensors } = readSafetensors(bytes, { names: ['b'] });
    expect([...tensors.keys()]).toEqual(['b']);
    expect(() => readSafetensors(bytes, { names: ['zz'], file: 'm.safetensors' })).toThrow(
      /m.safetensors: has no tensor "zz"/,
    );
  });

  it('rejects bad tensors on write', () => {
    expect(() => writeSafetensors({ a: f32([3], [1, 2]) })).toThrow(
      /tensor "a": has 2 values but shape \[3\] needs 3/,
    );
    expect(() => writeSafetensors({ a: { dtype: 'int32', shape: [1], data: new Float32Array(1) } })).toThrow(
      /Int32Array/,
    );
    expect(() => writeSafetensors({ a: f32([-1], []) })).toThrow(/non-negative/);
  });
});

describe('safetensors on disk', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('writes atomically and reads back; a missing file is a clear error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oppu-st-'));
    dirs.push(dir);
    const path = join(dir, 'sub', 'model.safetensors');
    await writeSafetensorsFile(path, { a: f32([2], [1, 2]) }, { format: 'pt' });
    await writeSafetensorsFile(path, { a: f32([2], [3, 4]) }, { format: 'pt' });
    const back = await readSafetensorsFile(path);
    expect([...(back.tensors.get('a')?.data ?? [])]).toEqual([3, 4]);
    await expect(readSafetensorsFile(join(dir, 'nope.safetensors'))).rejects.toThrow(
      /nope.safetensors: cannot read/,
    );
    const bad = join(dir, 'bad.safetensors');
    await writeFile(bad, (await readFile(path)).subarray(0, 20));
    await expect(readSafetensorsFile(bad)).rejects.toThrow(/bad.safetensors: header length/);
  });
});

describe('safetensors: untrusted input', () => {
  const good = writeSafetensors({ a: f32([2, 2], [1, 2, 3, 4]), b: f32([1], [5]) }, { format: 'pt' });

  it('rejects truncated files', () => {
    expectInvalid(new Uint8Array(0), /shorter than the 8-byte/);
    expectInvalid(good.subarray(0, 7), /shorter than the 8-byte/);
    expectInvalid(good.subarray(0, 30), /runs past the end/);
    expectInvalid(good.subarray(0, good.length - 1), /run past the data section|cover/);
  });

  it('rejects an oversized header length without allocating it', () => {
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 0xffffffffffffffffn, true);
    expectInvalid(huge, /over the 100000000-byte limit/);
    new DataView(huge.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES), true);
    expectInvalid(huge, /runs past the end/);
  });

  it('rejects headers that are not a JSON object', () => {
    expectInvalid(craft(null, 0, '{"a": '), /not valid JSON/);
    expectInvalid(craft(null, 0, '[1, 2]  '), /does not start with "\{"/);
    expectInvalid(craft(null, 0, '{"a": 1}'), /tensor "a": entry is not an object/);
    const badUtf8 = craft(null, 0, '{"a":1}');
    badUtf8[9] = 0xff;
    expectInvalid(badUtf8, /not valid UTF-8/);
    expectInvalid(craft({ __metadata__: { a: 1 } }), /__metadata__ "a" is not a string/);
    expectInvalid(craft({ __metadata__: [] }), /__metadata__ is not an object/);
  });

  it('rejects unknown dtypes and bad shapes', () => {
    expectInvalid(
      craft({ t: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, 16),
      /tensor "t": unknown dtype "F128"/,
    );
    expectInvalid(
      craft({ t: { dtype: 'I8', shape: [1], data_offsets: [0, 1] } }, 1),
      /tensor "t": dtype "I8" is not supported/,
    );
    expectInvalid(
      craft({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4),
      /tensor "t": shape \[-1\]/,
    );
    expectInvalid(
      craft({ t: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, 4),
      /non-negative integers/,
    );
    expectInvalid(
      craft({ t: { dtype: 'F32', shape: '3', data_offsets: [0, 4] } }, 4),
      /non-negative integers/,
    );
    expectInvalid(
      craft({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 8),
      /needs 8 bytes but data_offsets hold 4/,
    );
    expectInvalid(
      craft({ t: { dtype: 'F32', shape: [1e15, 1e15, 1e15], data_offsets: [0, 4] } }, 4),
      /larger than the data section/,
    );
  });

  it('rejects offsets outside the data, overlapping or leaving holes', () => {
    const e = (begin: number, end: number) => ({
      dtype: 'U8',
      shape: [end - begin],
      data_offsets: [begin, end],
    });
    expectInvalid(craft({ t: e(0, 8) }, 4), /tensor "t": data_offsets \[0, 8\] run past the data section/);
    expectInvalid(
      craft({ t: { dtype: 'U8', shape: [0], data_offsets: [4, 2] } }, 4),
      /end before they begin/,
    );
    expectInvalid(craft({ t: { dtype: 'U8', shape: [2], data_offsets: [0] } }, 2), /is not \[begin, end\]/);
    expectInvalid(craft({ a: e(0, 4), b: e(2, 6) }, 6), /overlap tensor "a"/);
    expectInvalid(craft({ a: e(0, 2), b: e(4, 6) }, 6), /leaving a hole after byte 2/);
    expectInvalid(craft({ a: e(0, 2) }, 6), /data section is 6 bytes but the tensors cover 2/);
  });

  it('never crashes on random mutations: it reads or throws OppuError', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat(good.length),
        (edits, cut) => {
          const bytes = good.slice(0, Math.max(cut, good.length - (cut % 5)));
          for (const [at, v] of edits) if (at < bytes.length) bytes[at] = v;
          try {
            const { tensors } = readSafetensors(bytes, { file: 'fuzz.safetensors' });
            for (const t of tensors.values()) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
          } catch (err) {
            if (!(err instanceof OppuError)) throw err;
            expect(err.message).toContain('fuzz.safetensors');
          }
        },
      ),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('never crashes on random headers', () => {
    const value = fc.oneof(
      fc.constantFrom('F32', 'F16', 'I64', 'U8', 'X'),
      fc.array(fc.integer({ min: -2, max: 20 }), { maxLength: 3 }),
      fc.integer({ min: -5, max: 40 }),
      fc.constant(null),
    );
    const entry = fc.record({ dtype: value, shape: value, data_offsets: value }, { requiredKeys: [] });
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 4 }), entry, { maxKeys: 4 }),
        fc.nat(40),
        (header, size) => {
          try {
            readSafetensors(craft(header, size), { file: 'h.safetensors' });
          } catch (err) {
            if (!(err instanceof OppuError)) throw err;
          }
        },
      ),
      { numRuns: 2000, seed: 11 },
    );
  });
});
