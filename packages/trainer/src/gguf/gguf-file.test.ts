import { describe, expect, it } from 'vitest';
import { encodeGguf, type GgufValue } from './gguf-file.js';

/**
 * A GGUF reader written here from ggml's docs/gguf.md (not the writer's code): header, typed key/values, tensor
 * infos with dimensions innermost first, data at aligned offsets from the aligned end of the header.
 */
function parseGguf(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const u32 = () => {
    const v = view.getUint32(at, true);
    at += 4;
    return v;
  };
  const u64 = () => {
    const v = Number(view.getBigUint64(at, true));
    at += 8;
    return v;
  };
  const str = () => {
    const n = u64();
    const s = new TextDecoder().decode(bytes.subarray(at, at + n));
    at += n;
    return s;
  };
  const value = (type: number): unknown => {
    switch (type) {
      case 4:
        return u32();
      case 5: {
        const v = view.getInt32(at, true);
        at += 4;
        return v;
      }
      case 6: {
        const v = view.getFloat32(at, true);
        at += 4;
        return v;
      }
      case 7:
        return bytes[at++] === 1;
      case 8:
        return str();
      case 9: {
        const t = u32();
        const n = u64();
        return Array.from({ length: n }, () => value(t));
      }
      default:
        throw new Error(`type ${type}`);
    }
  };
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  at = 4;
  const version = u32();
  const tensorCount = u64();
  const kvCount = u64();
  const kv = new Map<string, { type: number; value: unknown }>();
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    const type = u32();
    kv.set(key, { type, value: value(type) });
  }
  const infos = Array.from({ length: tensorCount }, () => {
    const name = str();
    const nd = u32();
    const ne = Array.from({ length: nd }, () => u64());
    return { name, ne, type: u32(), offset: u64() };
  });
  const alignment = (kv.get('general.alignment')?.value as number | undefined) ?? 32;
  const dataStart = Math.ceil(at / alignment) * alignment;
  const tensors = infos.map((t) => {
    const n = t.ne.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = view.getFloat32(dataStart + t.offset + 4 * i, true);
    return { ...t, data };
  });
  return { magic, version, kv, tensors, alignment, dataStart };
}

const meta = (entries: [string, GgufValue][]) => new Map(entries);

describe('encodeGguf', () => {
  it('writes the GGUF v3 layout: header, typed metadata, tensor infos (innermost dim first), aligned data', () => {
    const w = Float32Array.from({ length: 6 }, (_, i) => i + 0.5); // [2, 3]
    const v = Float32Array.from([7, -8, 9]);
    const bytes = encodeGguf(
      meta([
        ['general.architecture', { type: 'string', value: 'llama' }],
        ['llama.block_count', { type: 'uint32', value: 4 }],
        ['llama.rope.freq_base', { type: 'float32', value: 10000 }],
        ['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }],
        ['tokenizer.ggml.tokens', { type: 'string[]', value: ['<s>', 'Ġthe', 'é'] }],
        ['tokenizer.ggml.token_type', { type: 'int32[]', value: [3, 1, -1] }],
      ]),
      [
        { name: 'blk.0.attn_q.weight', shape: [2, 3], data: w },
        { name: 'output_norm.weight', shape: [3], data: v },
      ],
    );
    const g = parseGguf(bytes);
    expect(g.magic).toBe('GGUF');
    expect(g.version).toBe(3);
    expect([...g.kv.keys()]).toEqual([
      'general.architecture',
      'llama.block_count',
      'llama.rope.freq_base',
      'tokenizer.ggml.add_bos_token',
      'tokenizer.ggml.tokens',
      'tokenizer.ggml.token_type',
    ]);
    expect(g.kv.get('general.architecture')).toEqual({ type: 8, value: 'llama' });
    expect(g.kv.get('llama.block_count')).toEqual({ type: 4, value: 4 });
    expect(g.kv.get('llama.rope.freq_base')).toEqual({ type: 6, value: 10000 });
    expect(g.kv.get('tokenizer.ggml.add_bos_token')).toEqual({ type: 7, value: true });
    expect(g.kv.get('tokenizer.ggml.tokens')).toEqual({ type: 9, value: ['<s>', 'Ġthe', 'é'] });
    expect(g.kv.get('tokenizer.ggml.token_type')).toEqual({ type: 9, value: [3, 1, -1] });
    expect(g.tensors.map((t) => [t.name, t.ne, t.type, t.offset])).toEqual([
      ['blk.0.attn_q.weight', [3, 2], 0, 0],
      ['output_norm.weight', [3], 0, 32], // 24 bytes padded to 32
    ]);
    expect(g.dataStart % 32).toBe(0);
    expect([...(g.tensors[0]?.data ?? [])]).toEqual([...w]);
    expect([...(g.tensors[1]?.data ?? [])]).toEqual([...v]);
    // The last tensor is padded too: ggml reads the data section in whole aligned blocks.
    expect(bytes.length).toBe(g.dataStart + 64);
  });

  it('writes general.alignment for another alignment and places every tensor on it', () => {
    const bytes = encodeGguf(
      meta([]),
      [
        { name: 'a', shape: [3], data: new Float32Array(3) },
        { name: 'b', shape: [1, 1], data: Float32Array.from([2]) },
      ],
      { alignment: 64 },
    );
    const g = parseGguf(bytes);
    expect(g.kv.get('general.alignment')).toEqual({ type: 4, value: 64 });
    expect(g.dataStart % 64).toBe(0);
    expect(g.tensors.map((t) => t.offset)).toEqual([0, 64]);
    expect(g.tensors[1]?.data[0]).toBe(2);
  });

  it('refuses what llama.cpp would reject, naming the key or tensor', () => {
    const t = (name: string, shape: number[], n: number) => ({ name, shape, data: new Float32Array(n) });
    expect(() => encodeGguf(meta([]), [t('x'.repeat(64), [1], 1)])).toThrow(
      /GGUF tensor "x+": names are 1 to 63 bytes/,
    );
    expect(() => encodeGguf(meta([]), [t('a', [2], 2), t('a', [2], 2)])).toThrow(
      /GGUF tensor "a": written twice/,
    );
    expect(() => encodeGguf(meta([]), [t('a', [2, 3], 5)])).toThrow(
      /"a": shape \[2, 3\] holds 6 values, the data has 5/,
    );
    expect(() => encodeGguf(meta([]), [t('a', [1, 1, 1, 1, 1], 1)])).toThrow(
      /"a": shape .* 1 to 4 positive dimensions/,
    );
    expect(() => encodeGguf(meta([['General.Name', { type: 'string', value: 'x' }]]), [])).toThrow(
      /metadata key "General.Name"/,
    );
    expect(() => encodeGguf(meta([['llama.block_count', { type: 'uint32', value: -1 }]]), [])).toThrow(
      /"llama.block_count": -1 is not a uint32/,
    );
    expect(() =>
      encodeGguf(meta([['llama.rope.freq_base', { type: 'float32', value: Number.NaN }]]), []),
    ).toThrow(/"llama.rope.freq_base": NaN is not a finite number/);
    expect(() => encodeGguf(meta([]), [], { alignment: 12 })).toThrow(
      /alignment must be a positive multiple of 8/,
    );
  });
});
