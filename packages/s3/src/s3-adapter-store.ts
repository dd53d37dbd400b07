import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { AdapterMetadata, AdapterStore, AdapterWeights, ImportLimits, StoredAdapter } from '@oppu/core';
import { userId as checkUserId, OppuError, type UserId } from '@oppu/core';
import {
  ADAPTER_CONFIG,
  ADAPTER_META,
  ADAPTER_WEIGHTS,
  checkWeightsChecksum,
  chooseVersion,
  decodeStoredVersion,
  encodeNewVersion,
  exportVersions,
  FsAdapterStore,
  metaJson,
  nextVersion,
  readVersionFiles,
  readVersionMeta,
  versionDirName,
} from '@oppu/node';

const VERSION_META = /\/v(\d{4,9})\/oppu_meta\.json$/;
const HEAD = 'HEAD.json';

export interface S3AdapterStoreOptions {
  readonly bucket: string;
  /** Key prefix inside the bucket (default `adapters`); each user lives under `<prefix>/<user>/`. */
  readonly prefix?: string;
  /** A client of your own, or the config to make one (region, endpoint, credentials, `forcePathStyle`...). */
  readonly client?: S3Client;
  readonly clientConfig?: S3ClientConfig;
  /** Largest archive `import` accepts, in bytes (default 256 MiB). */
  readonly maxArchiveBytes?: number;
  /** Leftovers of an interrupted write older than this are removed by the next write (default 15 min). */
  readonly staleWriteMs?: number;
}

/**
 * Adapter store on S3-compatible object storage (AWS S3, MinIO, Cloudflare R2, Ceph RGW...), for workers and
 * servers on several machines. Same PEFT layout and semantics as `FsAdapterStore`:
 *
 *     <prefix>/<user>/HEAD.json                                   {"generation": "g-…"}: the user's live set
 *     <prefix>/<user>/<generation>/v0001/adapter_config.json        PEFT's config
 *     <prefix>/<user>/<generation>/v0001/adapter_model.safetensors  PEFT's tensor names
 *     <prefix>/<user>/<generation>/v0001/oppu_meta.json             written last: the version exists once it does
 *
 * Object stores have no rename, so visibility comes from the order of writes: a version's weights and config are
 * written first and its metadata (with the sha256 of the weights) last, so a crash leaves invisible leftovers (swept
 * later), never a half version. Every read verifies the checksum. `import` writes a whole new generation and then
 * replaces `HEAD.json` (one PUT: atomic), so readers see either the old set or the new one. The metadata object is
 * put with `If-None-Match: *` where the store honours it, so two writers cannot both take one version number; the
 * queue (`@oppu/queue`) already keeps one writer per user.
 */
export class S3AdapterStore implements AdapterStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly maxArchiveBytes: number;
  private readonly staleWriteMs: number;

  constructor(options: S3AdapterStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? 'adapters').replace(/\/+$/, '');
    this.client = options.client ?? new S3Client(options.clientConfig ?? {});
    this.maxArchiveBytes = options.maxArchiveBytes ?? 256 * 1024 * 1024;
    this.staleWriteMs = options.staleWriteMs ?? 15 * 60 * 1000;
  }

  private userKey(user: UserId): string {
    return `${this.prefix}/${checkUserId(user, 'user')}`;
  }

  /** `s3://bucket/key`, for messages. */
  private where(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  private async getBytes(key: string): Promise<Uint8Array | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await out.Body!.transformToByteArray();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async putBytes(key: string, body: Uint8Array | string, exclusive = false): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ...(exclusive ? { IfNoneMatch: '*' } : {}),
      }),
    );
  }

  /**
   * A version's three objects, the metadata last: the version exists once it does. With `exclusive` the metadata
   * is put with `If-None-Match: *` (a 412 means another writer took the number).
   */
  private async putVersion(
    dir: string,
    files: { config: Uint8Array | string; weights: Uint8Array; meta: Uint8Array | string },
    exclusive = false,
  ): Promise<void> {
    await this.putBytes(`${dir}/${ADAPTER_CONFIG}`, files.config);
    await this.putBytes(`${dir}/${ADAPTER_WEIGHTS}`, files.weights);
    await this.putBytes(`${dir}/${ADAPTER_META}`, files.meta, exclusive);
  }

  private async listKeys(prefix: string): Promise<{ key: string; modified: number }[]> {
    const out: { key: string; modified: number }[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) out.push({ key: o.Key, modified: o.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  private async deleteKeys(keys: readonly string[]): Promise<void> {
    // One DELETE per key: every S3-compatible store has it (multi-object delete needs Content-MD5 on some).
    for (const key of keys)
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** The user's live generation, or undefined when they have no adapters. */
  private async generation(user: UserId): Promise<string | undefined> {
    const key = `${this.userKey(user)}/${HEAD}`;
    const bytes = await this.getBytes(key);
    if (!bytes) return undefined;
    try {
      const head = JSON.parse(new TextDecoder().decode(bytes)) as { generation?: unknown };
      if (typeof head.generation === 'string' && /^g-[0-9a-f]{12,32}$/.test(head.generation)) {
        return head.generation;
      }
    } catch {}
    throw new OppuError('adapter_corrupt', `${this.where(key)}: not a valid {"generation": "g-…"} pointer`);
  }

  private versionKey(user: UserId, generation: string, version: number): string {
    return `${this.userKey(user)}/${generation}/${versionDirName(version)}`;
  }

  /** Committed versions (those whose metadata object exists), ascending. */
  private async versions(user: UserId, generation: string): Promise<number[]> {
    const keys = await this.listKeys(`${this.userKey(user)}/${generation}/`);
    return keys
      .map((k) => VERSION_META.exec(k.key)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  private async readMeta(user: UserId, generation: string, version: number): Promise<AdapterMetadata> {
    const key = `${this.versionKey(user, generation, version)}/${ADAPTER_META}`;
    const bytes = await this.getBytes(key);
    if (!bytes) {
      throw new OppuError('adapter_not_found', `user ${user} has no adapter version ${version}`);
    }
    return readVersionMeta(new TextDecoder().decode(bytes), user, version, this.where(key));
  }

  async list(user: UserId): Promise<AdapterMetadata[]> {
    const generation = await this.generation(user);
    if (!generation) return [];
    const out: AdapterMetadata[] = [];
    for (const v of await this.versions(user, generation)) out.push(await this.readMeta(user, generation, v));
    return out;
  }

  async get(user: UserId, version?: number): Promise<StoredAdapter | undefined> {
    const generation = await this.generation(user);
    if (!generation) return undefined;
    const v = chooseVersion(user, await this.versions(user, generation), version);
    if (v === undefined) return undefined;
    const dir = this.versionKey(user, generation, v);
    const { meta, config, weights } = await this.readVersion(user, generation, v);
    return decodeStoredVersion(meta, config, weights, (file) => this.where(`${dir}/${file}`));
  }

  /** The three objects of a committed version (checksum not yet checked). */
  private async readVersion(user: UserId, generation: string, version: number) {
    const dir = this.versionKey(user, generation, version);
    const meta = await this.readMeta(user, generation, version);
    const weights = await this.getBytes(`${dir}/${ADAPTER_WEIGHTS}`);
    const config = await this.getBytes(`${dir}/${ADAPTER_CONFIG}`);
    if (!weights || !config) {
      throw new OppuError(
        'adapter_corrupt',
        `${this.where(dir)}: ${!weights ? ADAPTER_WEIGHTS : ADAPTER_CONFIG} is missing although ${ADAPTER_META} exists; roll back to an earlier version or retrain`,
      );
    }
    return { meta, config, weights };
  }

  async put(
    user: UserId,
    weights: AdapterWeights,
    meta: Omit<AdapterMetadata, 'version' | 'sha256' | 'userId'>,
  ): Promise<AdapterMetadata> {
    checkUserId(user, 'user');
    const files = encodeNewVersion(user, weights);
    let generation = await this.generation(user);
    if (!generation) {
      generation = newGeneration();
      await this.putBytes(`${this.userKey(user)}/${HEAD}`, JSON.stringify({ generation }));
    }
    await this.sweep(user, generation);
    for (let attempt = 0; ; attempt++) {
      const version = nextVersion(user, await this.versions(user, generation));
      const full: AdapterMetadata = { ...meta, userId: user, version, sha256: files.sha256 };
      const dir = this.versionKey(user, generation, version);
      try {
        await this.putVersion(dir, { ...files, meta: metaJson(full) }, true);
      } catch (error) {
        // Another writer committed this number first (412): take the next one.
        if (isPreconditionFailed(error) && attempt < 5) continue;
        throw error;
      }
      return full;
    }
  }

  /**
   * Removes, once they are stale, what interrupted writes left under the user: objects of versions that never got
   * their metadata, and generations `HEAD.json` does not name (an import killed before or after its switch).
   */
  private async sweep(user: UserId, generation: string): Promise<void> {
    const base = `${this.userKey(user)}/`;
    const keys = await this.listKeys(base);
    const live = `${base}${generation}/`;
    const committed = new Set(
      keys
        .filter((k) => k.key.startsWith(live))
        .map((k) => VERSION_META.exec(k.key)?.[1])
        .filter((v): v is string => v !== undefined),
    );
    const now = Date.now();
    const stale = keys.filter((k) => {
      if (now - k.modified <= this.staleWriteMs) return false;
      if (!k.key.startsWith(live)) return /^g-[0-9a-f]{12,32}\//.test(k.key.slice(base.length));
      const v = /\/v(\d{4,9})\/[^/]+$/.exec(k.key)?.[1];
      return v !== undefined && !committed.has(v);
    });
    await this.deleteKeys(stale.map((k) => k.key));
  }

  async delete(user: UserId, version?: number): Promise<void> {
    const base = this.userKey(user);
    if (version === undefined) {
      // The pointer goes first: from then on the user has no adapters, whatever is left to delete.
      await this.deleteKeys([`${base}/${HEAD}`]);
      const keys = (await this.listKeys(`${base}/`)).map((k) => k.key);
      await this.deleteKeys(keys.filter((k) => k.endsWith(`/${ADAPTER_META}`)));
      await this.deleteKeys(keys.filter((k) => !k.endsWith(`/${ADAPTER_META}`)));
      return;
    }
    const generation = await this.generation(user);
    if (!generation || !(await this.versions(user, generation)).includes(version)) {
      throw new OppuError('adapter_not_found', `user ${user} has no adapter version ${version}`);
    }
    const dir = this.versionKey(user, generation, version);
    await this.deleteKeys([
      `${dir}/${ADAPTER_META}`,
      `${dir}/${ADAPTER_WEIGHTS}`,
      `${dir}/${ADAPTER_CONFIG}`,
    ]);
  }

  async export(user: UserId): Promise<Uint8Array> {
    const generation = await this.generation(user);
    const versions = generation ? await this.versions(user, generation) : [];
    return exportVersions(user, versions, async (v) => {
      const dir = this.versionKey(user, generation!, v);
      const { meta, config, weights } = await this.readVersion(user, generation!, v);
      checkWeightsChecksum(meta, weights, this.where(`${dir}/${ADAPTER_WEIGHTS}`));
      return { config, weights, meta: (await this.getBytes(`${dir}/${ADAPTER_META}`))! };
    });
  }

  /**
   * Validates the archive exactly as `FsAdapterStore.import` does (it is imported into a scratch folder with it:
   * format, entry checksums, PEFT config and tensors, base model), uploads it as a new generation, then points
   * `HEAD.json` at it and deletes the old one.
   */
  async import(
    user: UserId,
    archive: Uint8Array,
    expectBase?: { readonly name: string; readonly hash: string },
    limits?: ImportLimits,
  ): Promise<AdapterMetadata[]> {
    checkUserId(user, 'user');
    const scratch = await mkdtemp(join(tmpdir(), 'oppu-s3-import-'));
    try {
      const fs = new FsAdapterStore({ root: scratch, maxArchiveBytes: this.maxArchiveBytes });
      const metas = await fs.import(user, archive, expectBase, limits);
      const previous = await this.generation(user);
      const generation = newGeneration();
      for (const meta of metas) {
        const local = join(scratch, user, versionDirName(meta.version));
        await this.putVersion(this.versionKey(user, generation, meta.version), await readVersionFiles(local));
      }
      await this.putBytes(`${this.userKey(user)}/${HEAD}`, JSON.stringify({ generation }));
      if (previous) {
        const old = await this.listKeys(`${this.userKey(user)}/${previous}/`);
        await this.deleteKeys(old.map((k) => k.key));
      }
      return metas;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
}

function newGeneration(): string {
  return `g-${Date.now().toString(16)}${randomBytes(4).toString('hex')}`;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

function isPreconditionFailed(error: unknown): boolean {
  return statusOf(error) === 412 || (error as { name?: string })?.name === 'PreconditionFailed';
}
