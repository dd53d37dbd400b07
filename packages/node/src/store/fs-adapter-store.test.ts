import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdapterWeights } from '@oppu/core';
import { OPPU_LORA, userId } from '@oppu/core';
import { strToU8, zipSync } from 'fflate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsAdapterStore } from './fs-adapter-store.js';

const alice = userId('alice');
const bob = userId('bob');
const base = { name: 'oppu/tiny', hash: 'a'.repeat(64) };

function weights(seed: number): AdapterWeights {
  const a = Float32Array.from({ length: 8 * 4 }, (_, i) => Math.sin(seed * 31 + i));
  const b = Float32Array.from({ length: 4 * 8 }, (_, i) => Math.cos(seed * 17 + i));
  return {
    config: { peft_type: 'LORA', r: 8, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] },
    tensors: new Map([
      [
        'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
        { dtype: 'float32', shape: [8, 4], data: a },
      ],
      [
        'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
        { dtype: 'float32', shape: [4, 8], data: b },
      ],
    ]),
  };
}
const meta = { task: 'LaMP_2M', baseModel: base, peft: OPPU_LORA, createdAt: '2026-01-01T00:00:00.000Z' };

let root: string;
let store: FsAdapterStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-store-'));
  store = new FsAdapterStore({ root });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('FsAdapterStore', () => {
  it('stores versions per user in PEFT layout and reads them back', async () => {
    const m1 = await store.put(alice, weights(1), meta);
    const m2 = await store.put(alice, weights(2), { ...meta, parent: 1 });
    expect([m1.version, m2.version]).toEqual([1, 2]);
    expect(await readdir(join(root, 'alice', 'v0002'))).toEqual([
      'adapter_config.json',
      'adapter_model.safetensors',
      'oppu_meta.json',
    ]);
    const latest = await store.get(alice);
    expect(latest?.meta.version).toBe(2);
    const t = latest!.weights.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!;
    expect(Array.from(t.data as Float32Array)).toEqual(
      Array.from(
        weights(2).tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!
          .data as Float32Array,
      ),
    );
    expect((await store.get(alice, 1))?.meta.version).toBe(1);
    expect(await store.get(bob)).toBeUndefined();
    expect((await store.list(alice)).map((m) => m.version)).toEqual([1, 2]);
  });

  it('refuses a version whose weights changed on disk', async () => {
    await store.put(alice, weights(1), meta);
    const file = join(root, 'alice', 'v0001', 'adapter_model.safetensors');
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(file, bytes);
    await expect(store.get(alice)).rejects.toThrow(/checksum does not match/);
  });

  it('ignores and sweeps half-written versions left by a crash', async () => {
    await store.put(alice, weights(1), meta);
    await writeFile(join(root, 'alice', '.tmp-123-abc'), 'partial');
    expect((await store.list(alice)).map((m) => m.version)).toEqual([1]);
    await store.put(alice, weights(2), meta);
    expect((await readdir(join(root, 'alice'))).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('exports an archive that imports into another store, validated against the base model', async () => {
    await store.put(alice, weights(1), meta);
    await store.put(alice, weights(2), meta);
    const archive = await store.export(alice);
    const other = new FsAdapterStore({ root: join(root, 'other') });
    await other.put(bob, weights(9), meta);
    await expect(other.import(bob, archive, { name: base.name, hash: 'b'.repeat(64) })).rejects.toThrow(
      /trained on base model oppu\/tiny/,
    );
    expect((await other.list(bob)).length).toBe(1); // nothing replaced
    const metas = await other.import(bob, archive, base);
    expect(metas.map((m) => [m.userId, m.version])).toEqual([
      ['bob', 1],
      ['bob', 2],
    ]);
    expect((await other.get(bob))?.meta.sha256).toBe((await store.get(alice))?.meta.sha256);
  });

  it('rejects hostile archives with a clear error and changes nothing', async () => {
    await store.put(bob, weights(3), meta);
    const before = (await store.list(bob)).map((m) => m.sha256);
    const cases: [Uint8Array, RegExp][] = [
      [strToU8('not a zip'), /not a zip file/],
      [zipSync({ '../evil.txt': strToU8('x') }), /unexpected entry "..\/evil.txt"/],
      [zipSync({ 'oppu-adapter.json': strToU8('{') }), /not valid JSON/],
      [
        zipSync({
          'oppu-adapter.json': strToU8('{"format":"oppu-adapter-archive","formatVersion":1,"versions":[1]}'),
        }),
        /v0001\/adapter_config.json is missing/,
      ],
    ];
    for (const [bytes, message] of cases) {
      await expect(store.import(bob, bytes)).rejects.toThrow(message);
    }
    expect((await store.list(bob)).map((m) => m.sha256)).toEqual(before);
  });

  it('deletes one version or all, and rejects bad user ids', async () => {
    await store.put(alice, weights(1), meta);
    await store.put(alice, weights(2), meta);
    await store.delete(alice, 2);
    expect((await store.list(alice)).map((m) => m.version)).toEqual([1]);
    await store.delete(alice);
    expect(await store.list(alice)).toEqual([]);
    expect(await readdir(root)).toEqual([]);
    await expect(store.list('../etc' as never)).rejects.toThrow(/not a valid user id/);
  });

  it('repairs an import interrupted between its two renames', async () => {
    await store.put(alice, weights(1), meta);
    const { rename } = await import('node:fs/promises');
    await rename(join(root, 'alice'), join(root, '.old-alice-000000000000001'));
    expect((await store.list(alice)).map((m) => m.version)).toEqual([1]);
  });
});
