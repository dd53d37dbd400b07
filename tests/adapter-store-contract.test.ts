/**
 * The AdapterStore contract, run against both implementations: the file system (`FsAdapterStore`, the default) and
 * S3-compatible object storage (`S3AdapterStore`, the scale-out option), the latter against a local S3 server
 * (`@20minutes/s3rver`, a maintained fork of s3rver, in this process on a loopback port). Then the two are mixed
 * (an archive exported from one imports into the other) and a service trains and answers with its adapters on S3.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from '@20minutes/s3rver';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type AdapterStore, type AdapterWeights, OPPU_LORA, type UserId, userId } from '@oppu/core';
import {
  createLocalOppu,
  FsAdapterStore,
  unpackAdapterArchive,
  versionDirName,
  writeTestCheckpoint,
} from '@oppu/node';
import { S3AdapterStore } from '@oppu/s3';
import { encodeAdapter, readSafetensorsHeader } from '@oppu/trainer';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const alice = userId('alice');
const bob = userId('bob');
const base = { name: 'oppu/tiny', hash: 'a'.repeat(64) };
const meta = { task: 'LaMP_2M', baseModel: base, peft: OPPU_LORA, createdAt: '2026-01-01T00:00:00.000Z' };
const A = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';
const B = 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight';

/** A valid r=8 LoRA pair on one q_proj of width 4 (what import's PEFT checks accept). */
function weights(seed: number): AdapterWeights {
  return {
    config: {
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 8,
      lora_alpha: 8,
      lora_dropout: 0,
      target_modules: ['q_proj'],
      bias: 'none',
      base_model_name_or_path: base.name,
    },
    tensors: new Map([
      [
        A,
        {
          dtype: 'float32',
          shape: [8, 4],
          data: Float32Array.from({ length: 32 }, (_, i) => Math.sin(seed * 31 + i)),
        },
      ],
      [
        B,
        {
          dtype: 'float32',
          shape: [4, 8],
          data: Float32Array.from({ length: 32 }, (_, i) => Math.cos(seed * 17 + i)),
        },
      ],
    ]),
  };
}

/** What the contract needs beyond the interface: a fresh empty store, and ways to damage it as a crash would. */
interface Harness {
  fresh(): Promise<AdapterStore>;
  /** Flips a byte of the stored weights of (user, version). */
  corrupt(store: AdapterStore, user: UserId, version: number): Promise<void>;
  /** Leaves what a write killed before its commit point leaves behind. */
  halfWrite(store: AdapterStore, user: UserId, version: number): Promise<void>;
}

let scratch: string;
let s3rver: S3rver;
let client: S3Client;
let n = 0;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'oppu-store-contract-'));
  s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: join(scratch, 's3'),
    configureBuckets: [{ name: 'oppu', configs: [] }],
  });
  const { port } = await s3rver.run();
  client = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  // s3rver checks signatures of bucket-level requests (ListObjectsV2) against `/bucket`, while the SDK sends and
  // signs `/bucket/`; S3 accepts both, so the path is trimmed before signing (a quirk of the test server only).
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { path?: string };
      if (request.path && /^\/[^/]+\/$/.test(request.path)) request.path = request.path.slice(0, -1);
      return next(args);
    },
    { step: 'build', name: 's3rverBucketPath' },
  );
});
afterAll(async () => {
  client?.destroy();
  await s3rver?.close();
  await rm(scratch, { recursive: true, force: true });
});

const fsHarness: Harness = {
  fresh: async () => new FsAdapterStore({ root: join(scratch, `fs-${n++}`) }),
  async corrupt(store, user, version) {
    const file = join(
      (store as FsAdapterStore).root,
      user,
      versionDirName(version),
      'adapter_model.safetensors',
    );
    const bytes = await readFile(file);
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(file, bytes);
  },
  async halfWrite(store, user) {
    await writeFile(join((store as FsAdapterStore).root, user, '.tmp-123-abc'), 'partial');
  },
};

/** The generation folder the store's HEAD names, as the store itself reads it. */
async function s3Dir(store: S3AdapterStore, user: UserId, version: number): Promise<string> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const head = await client.send(
    new GetObjectCommand({ Bucket: store.bucket, Key: `${store.prefix}/${user}/HEAD.json` }),
  );
  const { generation } = JSON.parse(await head.Body!.transformToString());
  return `${store.prefix}/${user}/${generation}/${versionDirName(version)}`;
}

const s3Harness: Harness = {
  fresh: async () => new S3AdapterStore({ bucket: 'oppu', prefix: `contract-${n++}`, client }),
  async corrupt(store, user, version) {
    const s3 = store as S3AdapterStore;
    const key = `${await s3Dir(s3, user, version)}/adapter_model.safetensors`;
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    const bytes = await got.Body!.transformToByteArray();
    bytes[bytes.length - 1]! ^= 0xff;
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: bytes }));
  },
  async halfWrite(store, user, version) {
    // Weights and config of the next version were uploaded, the metadata (the commit point) was not.
    const s3 = store as S3AdapterStore;
    const dir = await s3Dir(s3, user, version);
    await client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: `${dir}/adapter_config.json`, Body: '{}' }),
    );
    await client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: `${dir}/adapter_model.safetensors`, Body: 'partial' }),
    );
  },
};

const data = (w: AdapterWeights | undefined, name: string) =>
  Array.from(w!.tensors.get(name)!.data as Float32Array);

describe.each([
  ['FsAdapterStore', fsHarness],
  ['S3AdapterStore', s3Harness],
] as const)('AdapterStore contract: %s', (_name, h) => {
  let store: AdapterStore;
  beforeEach(async () => {
    store = await h.fresh();
  });

  it('stores numbered versions per user and reads each back exactly', async () => {
    const m1 = await store.put(alice, weights(1), meta);
    const m2 = await store.put(alice, weights(2), { ...meta, parent: 1 });
    expect([m1.version, m2.version, m2.parent, m2.userId]).toEqual([1, 2, 1, 'alice']);
    expect(m2.sha256).toMatch(/^[0-9a-f]{64}$/);
    const latest = await store.get(alice);
    expect(latest?.meta).toEqual(m2);
    expect(data(latest?.weights, A)).toEqual(data(weights(2), A));
    expect(latest?.weights.tensors.get(B)?.shape).toEqual([4, 8]);
    expect(latest?.weights.config.peft_type).toBe('LORA');
    expect(data((await store.get(alice, 1))?.weights, A)).toEqual(data(weights(1), A));
    expect((await store.list(alice)).map((m) => m.version)).toEqual([1, 2]);
    expect(await store.get(bob)).toBeUndefined();
    expect(await store.list(bob)).toEqual([]);
    await expect(store.get(alice, 7)).rejects.toThrow(/has no adapter version 7/);
  });

  it('writes a per-user adapter as the shipped task adapters are written: sorted config keys, {"format": "pt"}', async () => {
    await store.put(alice, weights(1), meta);
    const [stored] = unpackAdapterArchive(await store.export(alice), { maxBytes: 1 << 20 });
    const config = new TextDecoder().decode(stored!.config);
    const keys = Object.keys(JSON.parse(config));
    expect(keys).toEqual([...keys].sort());
    expect(readSafetensorsHeader(stored!.weights).metadata).toEqual({ format: 'pt' });
    // One writer: the bytes saveAdapter writes for a task adapter (packages/model-tiny/task-adapters).
    const written = encodeAdapter(weights(1));
    expect(config).toBe(written.config);
    expect(stored!.weights).toEqual(written.safetensors);
  });

  it('refuses a version whose weights changed after they were stored', async () => {
    await store.put(alice, weights(1), meta);
    await h.corrupt(store, alice, 1);
    await expect(store.get(alice)).rejects.toThrow(/checksum does not match/);
    await expect(store.export(alice)).rejects.toThrow(/checksum does not match/);
  });

  it('never shows a half-written version, and the next write goes on cleanly', async () => {
    await store.put(alice, weights(1), meta);
    await h.halfWrite(store, alice, 2);
    expect((await store.list(alice)).map((m) => m.version)).toEqual([1]);
    expect((await store.get(alice))?.meta.version).toBe(1);
    const m2 = await store.put(alice, weights(2), meta);
    expect(m2.version).toBe(2);
    expect(data((await store.get(alice, 2))?.weights, A)).toEqual(data(weights(2), A));
  });

  it('deletes one version or every version, and rejects bad user ids', async () => {
    await store.put(alice, weights(1), meta);
    await store.put(alice, weights(2), meta);
    await store.put(bob, weights(3), meta);
    await store.delete(alice, 1);
    expect((await store.list(alice)).map((m) => m.version)).toEqual([2]);
    await expect(store.delete(alice, 1)).rejects.toThrow(/has no adapter version 1/);
    await store.delete(alice);
    expect(await store.list(alice)).toEqual([]);
    expect(await store.get(alice)).toBeUndefined();
    expect((await store.list(bob)).length).toBe(1); // another user's versions are untouched
    await expect(store.list('../etc' as UserId)).rejects.toThrow(/not a valid user id/);
    await expect(store.put('a/b' as UserId, weights(1), meta)).rejects.toThrow(/not a valid user id/);
  });

  it('exports an archive that imports into either kind of store, checked against the base model', async () => {
    await store.put(alice, weights(1), meta);
    await store.put(alice, weights(2), meta);
    const archive = await store.export(alice);
    for (const target of [await fsHarness.fresh(), await s3Harness.fresh()]) {
      await target.put(bob, weights(9), meta);
      await expect(target.import(bob, archive, { name: base.name, hash: 'b'.repeat(64) })).rejects.toThrow(
        /trained on base model oppu\/tiny/,
      );
      expect(data((await target.get(bob))?.weights, A)).toEqual(data(weights(9), A)); // nothing replaced
      const metas = await target.import(bob, archive, base);
      expect(metas.map((m) => [m.userId, m.version])).toEqual([
        ['bob', 1],
        ['bob', 2],
      ]);
      expect((await target.list(bob)).map((m) => m.sha256)).toEqual(
        (await store.list(alice)).map((m) => m.sha256),
      );
      expect(data((await target.get(bob, 1))?.weights, A)).toEqual(data(weights(1), A));
      expect((await target.put(bob, weights(3), meta)).version).toBe(3);
    }
  });

  it('rejects hostile or broken archives with a clear error and changes nothing', async () => {
    await store.put(bob, weights(3), meta);
    const before = (await store.list(bob)).map((m) => m.sha256);
    const cases: [Uint8Array, RegExp][] = [
      [strToU8('not a zip'), /not a zip file/],
      [zipSync({ '../evil.txt': strToU8('x') }), /unexpected entry "..\/evil.txt"/],
      [zipSync({ 'oppu-adapter.json': strToU8('{') }), /not valid JSON/],
    ];
    for (const [bytes, message] of cases) await expect(store.import(bob, bytes)).rejects.toThrow(message);
    expect((await store.list(bob)).map((m) => m.sha256)).toEqual(before);
    await expect(store.export(alice)).rejects.toThrow(/has no adapter to export/);
  });

  it("refuses non-finite weights, and imports over the caller's version limit, changing nothing", async () => {
    await store.put(alice, weights(1), meta);
    const nan = weights(2);
    (nan.tensors.get(A)!.data as Float32Array)[3] = Number.NaN;
    await expect(store.put(alice, nan, meta)).rejects.toThrow(
      /^user alice's new adapter: tensor ".*" holds NaN at element 3/,
    );
    await store.put(alice, weights(3), meta);
    const archive = await store.export(alice);
    await expect(store.import(bob, archive, base, { maxVersions: 1 })).rejects.toThrow(
      /^adapter archive: holds 2 versions; at most 1 are kept per user/,
    );
    expect(await store.list(bob)).toEqual([]);
    expect((await store.list(alice)).map((m) => m.version)).toEqual([1, 2]);
    expect((await store.import(bob, archive, base, { maxVersions: 2 })).length).toBe(2);
  });

  it('keeps concurrent writers of different users apart', async () => {
    const users = ['u1', 'u2', 'u3', 'u4'].map((u) => userId(u));
    await Promise.all(users.flatMap((u, i) => [store.put(u, weights(i), meta)]));
    await Promise.all(users.map((u, i) => store.put(u, weights(i + 10), meta)));
    for (const [i, u] of users.entries()) {
      expect((await store.list(u)).map((m) => [m.userId, m.version])).toEqual([
        [u, 1],
        [u, 2],
      ]);
      expect(data((await store.get(u))?.weights, A)).toEqual(data(weights(i + 10), A));
    }
  });
});

describe('S3AdapterStore leftovers', () => {
  it('removes a generation an import left without switching HEAD.json, once stale, on the next write', async () => {
    const store = new S3AdapterStore({ bucket: 'oppu', prefix: `stale-${n++}`, client, staleWriteMs: 0 });
    await store.put(alice, weights(1), meta);
    // An import killed after uploading its generation, before pointing HEAD.json at it.
    const orphan = `${store.prefix}/alice/g-0123456789abcdef/v0001/adapter_model.safetensors`;
    await client.send(new PutObjectCommand({ Bucket: 'oppu', Key: orphan, Body: 'orphaned weights' }));
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const keys = async () =>
      (
        (await client.send(new ListObjectsV2Command({ Bucket: 'oppu', Prefix: `${store.prefix}/` })))
          .Contents ?? []
      )
        .map((o) => o.Key!)
        .sort();
    expect(await keys()).toContain(orphan);
    await new Promise((r) => setTimeout(r, 1100)); // LastModified has whole seconds
    await store.put(alice, weights(2), meta);
    expect(await keys()).not.toContain(orphan);
    expect((await store.list(alice)).map((m) => m.version)).toEqual([1, 2]);
  });
});

describe('a service on S3', () => {
  it('trains, stores and answers with adapters kept in the object store', async () => {
    const dir = join(scratch, 'service');
    await writeTestCheckpoint(join(dir, 'model'));
    const adapters = new S3AdapterStore({ bucket: 'oppu', prefix: 'service', client });
    const oppu = await createLocalOppu({
      home: join(dir, 'home'),
      baseModelDir: join(dir, 'model'),
      adapters,
      training: { maxSteps: 6, learningRate: 1e-2, batchSize: 2, seed: 1 },
      summarizer: 'none',
      onLog: () => {},
    });
    try {
      const ada = userId('ada');
      await oppu.service.addItems(ada, [
        { id: '1', text: 'the cat sat on the mat' },
        { id: '2', text: 'a dog ran in the park' },
      ]);
      const v = await oppu.service.train(ada);
      expect((await adapters.list(ada)).map((m) => m.version)).toEqual([v.version]);
      const answer = await oppu.service.ask(
        ada,
        'Paraphrase the following tweet without any explanation before or after it: hello',
      );
      expect(answer.adapterVersion).toBe(v.version);
      expect(await readdir(join(dir, 'home'))).not.toContain('adapters'); // nothing went to the local disk
    } finally {
      await oppu.close();
    }
  });
});
