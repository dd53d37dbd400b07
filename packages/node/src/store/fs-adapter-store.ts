import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AdapterMetadata, AdapterStore, AdapterWeights, LoraConfig, StoredAdapter } from '@oppu/core';
import { userId as checkUserId, OppuError, type UserId } from '@oppu/core';
import {
  decodeAdapter,
  ia3ConfigFromPeft,
  loraConfigFromPeft,
  peftTypeOf,
  promptTuningConfigFromPeft,
  readSafetensors,
  writeSafetensors,
} from '@oppu/trainer';
import { packAdapterArchive, unpackAdapterArchive } from './adapter-archive.js';
import { parseAdapterMetadata } from './adapter-metadata.js';
import { syncDir } from './sync-dir.js';

const VERSION_DIR = /^v(\d{4,9})$/;
export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
export const ADAPTER_META = 'oppu_meta.json';

export interface FsAdapterStoreOptions {
  /** Folder holding one sub-folder per user, e.g. `join(oppuHome(), 'adapters')`. */
  readonly root: string;
  /** Largest archive `import` accepts, in bytes (default 256 MiB). */
  readonly maxArchiveBytes?: number;
}

export const versionDirName = (version: number): string => `v${String(version).padStart(4, '0')}`;

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Adapter store on the file system, in HF PEFT layout:
 *
 *     <root>/<user>/v0001/adapter_config.json        PEFT's config
 *     <root>/<user>/v0001/adapter_model.safetensors  PEFT's tensor names
 *     <root>/<user>/v0001/oppu_meta.json             base model identity and hash, task, training stats, sha256
 *
 * A version is written into a hidden temp folder and renamed into place, so a crash never leaves a half-written
 * version visible; leftovers are swept on the next write. Import stages the whole archive, then swaps the user's
 * folder (a crash between the two renames is repaired on the next access).
 */
export class FsAdapterStore implements AdapterStore {
  readonly root: string;
  private readonly maxArchiveBytes: number;

  constructor(options: FsAdapterStoreOptions) {
    this.root = options.root;
    this.maxArchiveBytes = options.maxArchiveBytes ?? 256 * 1024 * 1024;
  }

  private userDir(user: UserId): string {
    return join(this.root, checkUserId(user, 'user'));
  }

  /** Versions present on disk, ascending. Repairs an interrupted import first. */
  private async versions(user: UserId): Promise<number[]> {
    await this.recover(user);
    let names: string[];
    try {
      names = await readdir(this.userDir(user));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .map((n) => VERSION_DIR.exec(n)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** If an import was interrupted after moving the old folder aside, put it back. */
  private async recover(user: UserId): Promise<void> {
    const dir = this.userDir(user);
    const exists = await stat(dir).then(
      () => true,
      () => false,
    );
    if (exists) return;
    const names = await readdir(this.root).catch(() => [] as string[]);
    const aside = names.filter((n) => n.startsWith(`.old-${user}-`)).sort();
    const last = aside[aside.length - 1];
    if (last) await rename(join(this.root, last), dir);
  }

  async list(user: UserId): Promise<AdapterMetadata[]> {
    const out: AdapterMetadata[] = [];
    for (const v of await this.versions(user)) {
      out.push(await this.readMeta(user, v));
    }
    return out;
  }

  private async readMeta(user: UserId, version: number): Promise<AdapterMetadata> {
    const file = join(this.userDir(user), versionDirName(version), ADAPTER_META);
    const meta = parseAdapterMetadata(await readFile(file, 'utf8'), file);
    if (meta.userId !== user || meta.version !== version) {
      throw new OppuError(
        'adapter_corrupt',
        `${file}: metadata names user ${meta.userId} version ${meta.version}`,
      );
    }
    return meta;
  }

  async get(user: UserId, version?: number): Promise<StoredAdapter | undefined> {
    const versions = await this.versions(user);
    const v = version ?? versions[versions.length - 1];
    if (v === undefined) return undefined;
    if (!versions.includes(v)) {
      throw new OppuError(
        'adapter_not_found',
        `user ${user} has no adapter version ${v} (has: ${versions.join(', ') || 'none'})`,
      );
    }
    const dir = join(this.userDir(user), versionDirName(v));
    const meta = await this.readMeta(user, v);
    const bytes = await readFile(join(dir, ADAPTER_WEIGHTS));
    if (sha256Hex(bytes) !== meta.sha256) {
      throw new OppuError(
        'adapter_checksum',
        `${join(dir, ADAPTER_WEIGHTS)}: checksum does not match ${ADAPTER_META} (the file was changed or damaged); roll back to an earlier version or retrain`,
      );
    }
    const configFile = join(dir, ADAPTER_CONFIG);
    let config: Record<string, unknown>;
    try {
      config = JSON.parse(await readFile(configFile, 'utf8'));
    } catch (error) {
      throw new OppuError('adapter_corrupt', `${configFile}: not valid JSON`, { cause: error });
    }
    const { tensors } = readSafetensors(bytes, { file: join(dir, ADAPTER_WEIGHTS) });
    return { meta, weights: { config, tensors } };
  }

  async put(
    user: UserId,
    weights: AdapterWeights,
    meta: Omit<AdapterMetadata, 'version' | 'sha256' | 'userId'>,
  ): Promise<AdapterMetadata> {
    checkUserId(user, 'user');
    const dir = this.userDir(user);
    await mkdir(dir, { recursive: true });
    await this.sweep(dir);
    const bytes = writeSafetensors(weights.tensors);
    for (let attempt = 0; ; attempt++) {
      const versions = await this.versions(user);
      const version = (versions[versions.length - 1] ?? 0) + 1;
      const full: AdapterMetadata = { ...meta, userId: user, version, sha256: sha256Hex(bytes) };
      const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
      await writeVersionDir(tmp, weights.config, bytes, full);
      try {
        await rename(tmp, join(dir, versionDirName(version)));
      } catch (error) {
        await rm(tmp, { recursive: true, force: true });
        const code = (error as NodeJS.ErrnoException).code;
        // Another writer took this number first: take the next one.
        if ((code === 'ENOTEMPTY' || code === 'EEXIST') && attempt < 5) continue;
        throw error;
      }
      await syncDir(dir);
      return full;
    }
  }

  /** Removes temp folders left by an interrupted write (never a finished version). */
  private async sweep(dir: string): Promise<void> {
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(
      names
        .filter((n) => n.startsWith('.tmp-'))
        .map((n) => rm(join(dir, n), { recursive: true, force: true })),
    );
  }

  async delete(user: UserId, version?: number): Promise<void> {
    const dir = this.userDir(user);
    if (version === undefined) {
      await this.recover(user);
      // Rename first so a half-deleted folder is never read as the user's adapters.
      const doomed = join(this.root, `.del-${user}-${randomBytes(6).toString('hex')}`);
      try {
        await rename(dir, doomed);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      await rm(doomed, { recursive: true, force: true });
      const names = await readdir(this.root).catch(() => [] as string[]);
      await Promise.all(
        names
          .filter((n) => n.startsWith(`.old-${user}-`) || n.startsWith(`.stage-${user}-`))
          .map((n) => rm(join(this.root, n), { recursive: true, force: true })),
      );
      return;
    }
    const target = join(dir, versionDirName(version));
    const doomed = join(dir, `.tmp-del-${randomBytes(6).toString('hex')}`);
    try {
      await rename(target, doomed);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new OppuError('adapter_not_found', `user ${user} has no adapter version ${version}`);
      }
      throw error;
    }
    await rm(doomed, { recursive: true, force: true });
  }

  async export(user: UserId): Promise<Uint8Array> {
    const versions = await this.versions(user);
    if (versions.length === 0) {
      throw new OppuError('adapter_not_found', `user ${user} has no adapter to export; train one first`);
    }
    const entries: { version: number; config: Uint8Array; weights: Uint8Array; meta: Uint8Array }[] = [];
    for (const v of versions) {
      const stored = await this.get(user, v); // verifies checksums before anything leaves the store
      if (!stored) continue;
      const dir = join(this.userDir(user), versionDirName(v));
      entries.push({
        version: v,
        config: await readFile(join(dir, ADAPTER_CONFIG)),
        weights: await readFile(join(dir, ADAPTER_WEIGHTS)),
        meta: await readFile(join(dir, ADAPTER_META)),
      });
    }
    return packAdapterArchive(user, entries);
  }

  async import(
    user: UserId,
    archive: Uint8Array,
    expectBase?: { readonly name: string; readonly hash: string },
  ): Promise<AdapterMetadata[]> {
    checkUserId(user, 'user');
    // Everything is parsed and checked in memory before the disk is touched.
    const versions = unpackAdapterArchive(archive, { maxBytes: this.maxArchiveBytes });
    const metas: AdapterMetadata[] = [];
    for (const entry of versions) {
      const where = `archive: ${versionDirName(entry.version)}`;
      const meta = parseAdapterMetadata(new TextDecoder().decode(entry.meta), `${where}/${ADAPTER_META}`);
      if (meta.version !== entry.version) {
        throw new OppuError('archive_invalid', `${where}/${ADAPTER_META}: says version ${meta.version}`);
      }
      if (sha256Hex(entry.weights) !== meta.sha256) {
        throw new OppuError(
          'archive_invalid',
          `${where}/${ADAPTER_WEIGHTS}: checksum does not match its metadata`,
        );
      }
      checkAdapterFiles(entry.config, entry.weights, where, meta.peft.method);
      if (
        expectBase &&
        (meta.baseModel.hash !== expectBase.hash || meta.baseModel.name !== expectBase.name)
      ) {
        throw new OppuError(
          'adapter_base_mismatch',
          `${where}: the adapter was trained on base model ${meta.baseModel.name} (${meta.baseModel.hash.slice(0, 12)}), not on ${expectBase.name} (${expectBase.hash.slice(0, 12)}) in use here`,
        );
      }
      metas.push({ ...meta, userId: user });
    }
    // Stage the new folder completely, then swap it in.
    await mkdir(this.root, { recursive: true });
    const stage = join(this.root, `.stage-${user}-${randomBytes(6).toString('hex')}`);
    await mkdir(stage);
    try {
      for (const [i, entry] of versions.entries()) {
        const meta = metas[i]!;
        await writeVersionDir(join(stage, versionDirName(entry.version)), entry.config, entry.weights, meta);
      }
      await syncDir(stage);
      await this.recover(user);
      const dir = this.userDir(user);
      const aside = join(this.root, `.old-${user}-${Date.now().toString().padStart(15, '0')}`);
      const hadOld = await rename(dir, aside).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return false;
          throw error;
        },
      );
      await rename(stage, dir);
      await syncDir(this.root);
      if (hadOld) await rm(aside, { recursive: true, force: true });
    } catch (error) {
      await rm(stage, { recursive: true, force: true });
      throw error;
    }
    return metas;
  }
}

async function writeVersionDir(
  dir: string,
  config: Readonly<Record<string, unknown>> | Uint8Array,
  weights: Uint8Array,
  meta: AdapterMetadata,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const configBytes = config instanceof Uint8Array ? config : `${JSON.stringify(config, null, 2)}\n`;
  await writeFile(join(dir, ADAPTER_CONFIG), configBytes);
  await writeFile(join(dir, ADAPTER_WEIGHTS), weights);
  await writeFile(join(dir, ADAPTER_META), `${JSON.stringify(meta, null, 2)}\n`);
  for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS, ADAPTER_META]) {
    const h = await open(join(dir, f), 'r');
    await h.sync();
    await h.close();
  }
  await syncDir(dir);
}

/**
 * Checks an archived version's PEFT files as a loader would read them: `adapter_config.json` is a PEFT config
 * of a supported type whose fields are valid and whose method is the one its metadata names, and the weights
 * are valid safetensors of float tensors. Errors name the archive entry and field.
 */
function checkAdapterFiles(config: Uint8Array, weights: Uint8Array, where: string, method: string): void {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(config);
  } catch (cause) {
    throw new OppuError('archive_invalid', `${where}/${ADAPTER_CONFIG}: not valid UTF-8`, { cause });
  }
  const decoded = decodeAdapter(text, weights, where);
  const at = `${where}/${ADAPTER_CONFIG}`;
  const type = peftTypeOf(decoded, where);
  if (type === 'lora') checkLoraTensors(decoded, loraConfigFromPeft(decoded.config, at), where);
  else if (type === 'ia3') ia3ConfigFromPeft(decoded.config, at);
  else promptTuningConfigFromPeft(decoded.config, at);
  if (type !== method) {
    throw new OppuError(
      'archive_invalid',
      `${at}: peft_type ${JSON.stringify(decoded.config.peft_type)} does not match ${ADAPTER_META} (method ${method})`,
    );
  }
}

const LORA_TENSOR =
  /^base_model\.model\.model\.layers\.\d{1,4}\.(?:self_attn|mlp)\.([a-z_]+)\.lora_([AB])\.weight$/;

/**
 * A LoRA's tensors as PEFT names them, each 2-D with the config's rank on its side (lora_A [r, in],
 * lora_B [out, r]) and on a module the config targets, in A/B pairs. The sizes that depend on the base model
 * are checked when the adapter is loaded.
 */
function checkLoraTensors(weights: AdapterWeights, config: LoraConfig, where: string): void {
  const file = `${where}/${ADAPTER_WEIGHTS}`;
  const fail = (what: string): never => {
    throw new OppuError('archive_invalid', `${file}: ${what}`);
  };
  if (weights.tensors.size === 0) fail('holds no tensors');
  for (const [name, t] of weights.tensors) {
    const m = LORA_TENSOR.exec(name);
    if (!m) fail(`tensor "${name.slice(0, 120)}" is not a PEFT LoRA tensor name`);
    const [, module, side] = m!;
    if (!config.targetModules.includes(module as LoraConfig['targetModules'][number])) {
      fail(`tensor "${name}" is on ${module}, which adapter_config.json does not target`);
    }
    const rank = side === 'A' ? t.shape[0] : t.shape[1];
    if (t.shape.length !== 2 || rank !== config.r) {
      fail(
        `tensor "${name}" has shape [${t.shape.join(', ')}]; lora_${side} of rank r=${config.r} needs ${side === 'A' ? '[r, in]' : '[out, r]'}`,
      );
    }
    const pair = name.replace(/lora_[AB]\.weight$/, side === 'A' ? 'lora_B.weight' : 'lora_A.weight');
    if (!weights.tensors.has(pair)) fail(`tensor "${name}" has no matching "${pair}"`);
  }
}
