/**
 * Imports and versions: an archive is refused, with the store untouched, when its weights are not finite, its
 * config is absurd, its tensors are not float, a version is one the store could not number after, or it holds
 * more versions than the caller keeps; float16/bfloat16 weights are stored as float32. A write refuses
 * non-finite weights, and a store at its highest version says so instead of failing on a rename.
 */
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HostTensor, OPPU_LORA, OppuError, userId } from '@oppu/core';
import { loraConfigToPeft, readSafetensors, readSafetensorsHeader, writeSafetensors } from '@oppu/trainer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packAdapterArchive } from './adapter-archive.js';
import { MAX_ADAPTER_VERSION, sha256Hex } from './adapter-versions.js';
import { FsAdapterStore } from './fs-adapter-store.js';

const alice = userId('alice');
const base = { name: 'oppu/tiny', hash: 'a'.repeat(64) };
const peft = { ...OPPU_LORA, targetModules: ['q_proj'] };
const meta = { task: 'LaMP_7', baseModel: base, peft, createdAt: '2026-01-01T00:00:00.000Z' };
const A = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';
const B = 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight';
const enc = (s: string) => new TextEncoder().encode(s);

/** A LoRA pair of rank 8 on one q_proj of width 4; values are small multiples of 1/8 (exact in float16). */
function tensors(dtype: HostTensor['dtype'] = 'float32', a: number[] = []): Map<string, HostTensor> {
  const values = (k: number) => Float32Array.from({ length: 32 }, (_, i) => a[i] ?? (i - k) / 8);
  return new Map<string, HostTensor>([
    [A, { dtype, shape: [8, 4], data: values(3) }],
    [B, { dtype, shape: [4, 8], data: values(9) }],
  ]);
}

/** An archive of the given versions, each with this config and weights file, its metadata matching the bytes. */
function archive(
  versions: readonly number[],
  weights: Uint8Array = writeSafetensors(tensors()),
  config: Record<string, unknown> = loraConfigToPeft(peft),
): Uint8Array {
  return packAdapterArchive(
    'donor',
    versions.map((version) => ({
      version,
      config: enc(JSON.stringify(config)),
      weights,
      meta: enc(
        JSON.stringify({ ...meta, userId: 'donor', version, sha256: sha256Hex(weights) } satisfies Record<
          string,
          unknown
        >),
      ),
    })),
  );
}

let root: string;
let store: FsAdapterStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-import-'));
  store = new FsAdapterStore({ root });
  await store.put(alice, { config: loraConfigToPeft(peft), tensors: tensors() }, meta);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every file under the store, so a refusal can be shown to change nothing. */
async function files(dir = root): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) Object.assign(out, await files(p));
    else out[p] = sha256Hex(await readFile(p));
  }
  return out;
}

async function refused(work: () => Promise<unknown>, message: RegExp): Promise<void> {
  const before = await files();
  const error = await work().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OppuError);
  expect((error as OppuError).message).toMatch(message);
  expect((error as OppuError).message).not.toContain('\n');
  expect(await files()).toEqual(before);
}

describe('FsAdapterStore.import: weights, configs and versions it cannot use are refused', () => {
  it('refuses NaN and infinite weights, naming the tensor and element', async () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const weights = writeSafetensors(tensors('float32', [0, 0, 0, 0, 0, bad]));
      await refused(
        () => store.import(alice, archive([1], weights), base),
        new RegExp(
          `^archive: v0001/adapter_model\\.safetensors: tensor "${A.replaceAll('.', '\\.')}" holds ${bad} at element 5; `,
        ),
      );
    }
  });

  it('refuses infinities a float16 file overflows to', async () => {
    const weights = writeSafetensors(tensors('float16', [1e6]));
    await refused(
      () => store.import(alice, archive([1], weights), base),
      /^archive: v0001\/adapter_model\.safetensors: tensor .* holds Infinity at element 0/,
    );
  });

  it('refuses absurd configs: lora_alpha 1e30, 100k virtual tokens', async () => {
    await refused(
      () =>
        store.import(alice, archive([1], undefined, { ...loraConfigToPeft(peft), lora_alpha: 1e30 }), base),
      /^archive: v0001\/adapter_config\.json: alpha 1e\+30 with r 8 scales the update by 1\.25e\+29; at most 1024 is accepted$/,
    );
  });

  it('refuses a version it could not number after, and archives over the version limit', async () => {
    await refused(
      () => store.import(alice, archive([1, 999_999_999]), base),
      /^adapter archive: oppu-adapter\.json: version 999999999 is over 1000000, the highest an import takes/,
    );
    const many = archive(Array.from({ length: 100 }, (_, i) => i + 1));
    await refused(
      () => store.import(alice, many, base, { maxVersions: 10 }),
      /^adapter archive: holds 100 versions; at most 10 are kept per user/,
    );
    // Within the limits it goes in, and training goes on after it.
    expect((await store.import(alice, archive([1, 1_000_000]), base, { maxVersions: 10 })).length).toBe(2);
    const next = await store.put(alice, { config: loraConfigToPeft(peft), tensors: tensors() }, meta);
    expect(next.version).toBe(1_000_001);
  });

  for (const dtype of ['float16', 'bfloat16'] as const) {
    it(`stores ${dtype} weights as float32, with the metadata's checksum of what is stored`, async () => {
      const weights = writeSafetensors(tensors(dtype));
      expect(new Set([...readSafetensorsHeader(weights).tensors.values()].map((t) => t.dtype))).toEqual(
        new Set([dtype === 'float16' ? 'F16' : 'BF16']),
      );
      const [m] = await store.import(alice, archive([1], weights), base);
      const file = await readFile(join(root, 'alice', 'v0001', 'adapter_model.safetensors'));
      expect([...readSafetensorsHeader(file).tensors.values()].map((t) => t.dtype)).toEqual(['F32', 'F32']);
      expect(m!.sha256).toBe(sha256Hex(file));
      const stored = await store.get(alice);
      expect(stored?.meta.sha256).toBe(m!.sha256);
      for (const [name, t] of tensors()) {
        expect(stored?.weights.tensors.get(name)?.dtype).toBe('float32');
        expect(Array.from(stored!.weights.tensors.get(name)!.data as Float32Array)).toEqual(
          Array.from(t.data),
        );
      }
      // And it goes round again unchanged.
      const again = await store.import(alice, await store.export(alice), base);
      expect(again[0]!.sha256).toBe(m!.sha256);
    });
  }

  it('refuses integer tensors', async () => {
    const ints = new Map<string, HostTensor>([
      [A, { dtype: 'int32', shape: [8, 4], data: new Int32Array(32) }],
      [B, { dtype: 'int32', shape: [4, 8], data: new Int32Array(32) }],
    ]);
    await refused(
      () => store.import(alice, archive([1], writeSafetensors(ints)), base),
      /^archive: v0001\/adapter_model\.safetensors: tensor .* is int32, expected a float tensor/,
    );
  });
});

describe('FsAdapterStore.put', () => {
  it('refuses non-finite weights and writes nothing', async () => {
    await refused(
      () =>
        store.put(
          alice,
          { config: loraConfigToPeft(peft), tensors: tensors('float32', [1, Number.NaN]) },
          meta,
        ),
      /^user alice's new adapter: tensor .* holds NaN at element 1/,
    );
    expect((await store.list(alice)).map((m) => m.version)).toEqual([1]);
  });

  it('says so when the user is at the highest version it numbers (no rename error)', async () => {
    const dir = join(root, 'alice');
    const last = `v${MAX_ADAPTER_VERSION}`;
    await rename(join(dir, 'v0001'), join(dir, last));
    const metaFile = join(dir, last, 'oppu_meta.json');
    const m = JSON.parse(await readFile(metaFile, 'utf8'));
    await writeFile(metaFile, JSON.stringify({ ...m, version: MAX_ADAPTER_VERSION }));
    expect((await store.list(alice)).map((x) => x.version)).toEqual([MAX_ADAPTER_VERSION]);
    await refused(
      () => store.put(alice, { config: loraConfigToPeft(peft), tensors: tensors() }, meta),
      /^user alice has adapter version 999999999, the highest this store numbers; /,
    );
    expect(readSafetensors(await readFile(join(dir, last, 'adapter_model.safetensors'))).tensors.size).toBe(
      2,
    );
  });
});
