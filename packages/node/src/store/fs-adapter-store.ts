import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  AdapterMetadata,
  AdapterStore,
  AdapterWeights,
  ImportLimits,
  LoraConfig,
  StoredAdapter,
} from '@oppu/core';
import {
  userId as checkUserId,
  isUserId,
  OppuError,
  syncDir,
  type UserId,
  writeFileAtomic,
} from '@oppu/core';
import { decodeAdapter, peftMethods, readSafetensorsHeader, writeSafetensors } from '@oppu/trainer';
import { unpackAdapterArchive } from './adapter-archive.js';
import { parseAdapterMetadata } from './adapter-metadata.js';
import {
  ADAPTER_CONFIG,
  ADAPTER_META,
  ADAPTER_WEIGHTS,
  chooseVersion,
  decodeStoredVersion,
  encodeNewVersion,
  exportVersions,
  metaJson,
  nextVersion,
  readVersionFiles,
  readVersionMeta,
  sha256Hex,
  versionDirName,
} from './adapter-versions.js';

const VERSION_DIR = /^v(\d{4,9})$/;

export interface FsAdapterStoreOptions {
  /** Folder holding one sub-folder per user, e.g. `join(oppuHome(), 'adapters')`. */
  readonly root: string;
  /** Largest archive `import` accepts, in bytes (default 256 MiB). */
  readonly maxArchiveBytes?: number;
}

/**
 * Folders the store keeps beside the users' folders while it works, each owned by exactly one user:
 * `.stage-<user>.<pid>.<ms>.<hex>` (an import being staged), `.old-<user>.…` (the user's folder moved aside by an
 * import) and `.del-<user>.…` (the user's folder being deleted). A user id never holds a `.`, so the owner is
 * read back exactly: `bob` never matches `bob-x`'s folders. Older releases wrote `.stage-<user>-<12 hex>`,
 * `.del-<user>-<12 hex>` and `.old-<user>-<15 digits>`; their fixed-width tails make the owner exact too.
 */
const LEFTOVER = /^\.(stage|old|del)-([A-Za-z0-9_-]{1,64})\.(\d{1,10})\.(\d{15})\.([0-9a-f]{12})$/;
const LEGACY_STAGE_DEL = /^\.(stage|del)-([A-Za-z0-9_-]{1,64})-[0-9a-f]{12}$/;
const LEGACY_OLD = /^\.old-([A-Za-z0-9_-]{1,64})-(\d{15})$/;
/** Inside a user's folder: `.tmp-<pid>-<hex>` (a version being written), `.tmp-del-<hex>` (one being deleted). */
const TMP_WRITE = /^\.tmp-(\d{1,10})-/;

interface Leftover {
  readonly name: string;
  readonly kind: 'stage' | 'old' | 'del';
  readonly user: UserId;
  /** The process that made it (absent in names written by older releases). */
  readonly pid?: number;
  /** When it was made (ms), to pick the newest `.old-` folder. */
  readonly made: number;
}

function parseLeftover(name: string): Leftover | undefined {
  const m = LEFTOVER.exec(name);
  if (m) {
    return {
      name,
      kind: m[1] as Leftover['kind'],
      user: m[2] as UserId,
      pid: Number(m[3]),
      made: Number(m[4]),
    };
  }
  const legacy = LEGACY_STAGE_DEL.exec(name);
  if (legacy) return { name, kind: legacy[1] as Leftover['kind'], user: legacy[2] as UserId, made: 0 };
  const old = LEGACY_OLD.exec(name);
  if (old) return { name, kind: 'old', user: old[1] as UserId, made: Number(old[2]) };
  return undefined;
}

/** Paths this process is writing right now (any store instance), so a sweep never takes work in progress. */
const inFlight = new Set<string>();

/**
 * Whether a leftover was abandoned by its process: that process is gone, or it is this one and nothing here is
 * working on the path (a process started with a crashed one's pid, as in a restarted container). Names of older
 * releases carry no pid and count as abandoned.
 */
function abandoned(pid: number | undefined, path: string): boolean {
  if (pid === undefined || pid <= 0) return true;
  if (pid === process.pid) return !inFlight.has(path);
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Runs `work` with `paths` marked as in progress for this process. */
async function holding<T>(paths: readonly string[], work: () => Promise<T>): Promise<T> {
  for (const p of paths) inFlight.add(p);
  try {
    return await work();
  } finally {
    for (const p of paths) inFlight.delete(p);
  }
}

const rmForce = (path: string) => rm(path, { recursive: true, force: true });

/**
 * Adapter store on the file system, in HF PEFT layout:
 *
 *     <root>/<user>/v0001/adapter_config.json        PEFT's config
 *     <root>/<user>/v0001/adapter_model.safetensors  PEFT's tensor names
 *     <root>/<user>/v0001/oppu_meta.json             base model identity and hash, task, training stats, sha256
 *
 * A version is written into a hidden temp folder and renamed into place, so a crash never leaves a half-written
 * version visible. Import stages the whole archive, then swaps the user's folder (a crash between the two renames
 * is repaired on the next access). What a killed process leaves (`.tmp-*`, `.stage-*`, `.old-*`, `.del-*`) is
 * swept for every user when the store starts (its first call), and again on the owner's writes; work another live
 * process is doing is never swept.
 */
export class FsAdapterStore implements AdapterStore {
  readonly root: string;
  private readonly maxArchiveBytes: number;
  private started?: Promise<void>;

  constructor(options: FsAdapterStoreOptions) {
    this.root = options.root;
    this.maxArchiveBytes = options.maxArchiveBytes ?? 256 * 1024 * 1024;
  }

  /** The start-up sweep, run once before the store's first operation. */
  private start(): Promise<void> {
    this.started ??= this.sweepAll();
    return this.started;
  }

  /**
   * Removes every user's abandoned leftovers: staged imports, deletions and half-written versions go; a folder an
   * import moved aside is put back when its user's folder is missing (the import died between its renames) and
   * removed otherwise.
   */
  private async sweepAll(): Promise<void> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const owners = new Set<UserId>();
    for (const name of names) {
      const leftover = parseLeftover(name);
      if (leftover) owners.add(leftover.user);
      else if (isUserId(name)) await this.sweep(join(this.root, name)).catch(() => {});
    }
    for (const user of owners) await this.sweepUser(user).catch(() => {});
  }

  /** One user's abandoned root-level leftovers (see `sweepAll`). */
  private async sweepUser(user: UserId): Promise<void> {
    await this.recover(user);
    for (const l of await this.leftovers(user)) {
      if (abandoned(l.pid, join(this.root, l.name))) await rmForce(join(this.root, l.name));
    }
  }

  /** The root-level leftovers owned by exactly this user. */
  private async leftovers(user: UserId): Promise<Leftover[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    return names.map(parseLeftover).filter((l): l is Leftover => l !== undefined && l.user === user);
  }

  /** A fresh root-level name for work on `user`'s behalf. */
  private leftoverPath(kind: Leftover['kind'], user: UserId): string {
    const made = Date.now().toString().padStart(15, '0');
    return join(this.root, `.${kind}-${user}.${process.pid}.${made}.${randomBytes(6).toString('hex')}`);
  }

  private userDir(user: UserId): string {
    return join(this.root, checkUserId(user, 'user'));
  }

  /** Versions present on disk, ascending. Repairs an interrupted import first. */
  private async versions(user: UserId): Promise<number[]> {
    await this.start();
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

  /** If an import died after moving the user's folder aside, puts the newest such folder back. */
  private async recover(user: UserId): Promise<void> {
    const dir = this.userDir(user);
    const exists = await stat(dir).then(
      () => true,
      () => false,
    );
    if (exists) return;
    const aside = (await this.leftovers(user))
      .filter((l) => l.kind === 'old' && abandoned(l.pid, join(this.root, l.name)))
      .sort((a, b) => a.made - b.made || (a.name < b.name ? -1 : 1));
    const last = aside[aside.length - 1];
    if (last) await rename(join(this.root, last.name), dir);
  }

  async list(user: UserId): Promise<AdapterMetadata[]> {
    const out: AdapterMetadata[] = [];
    for (const v of await this.versions(checkUserId(user, 'user'))) {
      out.push(await this.readMeta(user, v));
    }
    return out;
  }

  private async readMeta(user: UserId, version: number): Promise<AdapterMetadata> {
    const file = join(this.userDir(user), versionDirName(version), ADAPTER_META);
    return readVersionMeta(await readFile(file, 'utf8'), user, version, file);
  }

  async get(user: UserId, version?: number): Promise<StoredAdapter | undefined> {
    const v = chooseVersion(user, await this.versions(checkUserId(user, 'user')), version);
    if (v === undefined) return undefined;
    const dir = join(this.userDir(user), versionDirName(v));
    const meta = await this.readMeta(user, v);
    const weights = await readFile(join(dir, ADAPTER_WEIGHTS));
    const config = await readFile(join(dir, ADAPTER_CONFIG));
    return decodeStoredVersion(meta, config, weights, (file) => join(dir, file));
  }

  async put(
    user: UserId,
    weights: AdapterWeights,
    meta: Omit<AdapterMetadata, 'version' | 'sha256' | 'userId'>,
  ): Promise<AdapterMetadata> {
    checkUserId(user, 'user');
    const files = encodeNewVersion(user, weights);
    await this.start();
    const dir = this.userDir(user);
    await mkdir(dir, { recursive: true });
    await this.sweep(dir);
    for (let attempt = 0; ; attempt++) {
      const version = nextVersion(user, await this.versions(user));
      const full: AdapterMetadata = { ...meta, userId: user, version, sha256: files.sha256 };
      const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
      const renamed = await holding([tmp], async () => {
        await writeVersionDir(tmp, files.config, files.weights, full);
        try {
          await rename(tmp, join(dir, versionDirName(version)));
          return true;
        } catch (error) {
          await rmForce(tmp);
          const code = (error as NodeJS.ErrnoException).code;
          // Another writer took this number first: take the next one.
          if ((code === 'ENOTEMPTY' || code === 'EEXIST') && attempt < 5) return false;
          throw error;
        }
      });
      if (!renamed) continue;
      await syncDir(dir);
      return full;
    }
  }

  /** Removes temp folders in a user's folder that their process abandoned (never a finished version). */
  private async sweep(dir: string): Promise<void> {
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(
      names
        .filter((n) => {
          if (!n.startsWith('.tmp-')) return false;
          const pid = TMP_WRITE.exec(n)?.[1];
          return abandoned(pid === undefined ? undefined : Number(pid), join(dir, n));
        })
        .map((n) => rmForce(join(dir, n))),
    );
  }

  async delete(user: UserId, version?: number): Promise<void> {
    const dir = this.userDir(user);
    await this.start();
    if (version === undefined) {
      // What an interrupted import or deletion left goes first, so nothing can bring the folder back later.
      for (const l of await this.leftovers(user)) await rmForce(join(this.root, l.name));
      // Rename first so a half-deleted folder is never read as the user's adapters.
      const doomed = this.leftoverPath('del', user);
      try {
        await rename(dir, doomed);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      await rmForce(doomed);
      await syncDir(this.root);
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
    await rmForce(doomed);
  }

  async export(user: UserId): Promise<Uint8Array> {
    return exportVersions(user, await this.versions(checkUserId(user, 'user')), async (v) => {
      await this.get(user, v); // verifies checksums before anything leaves the store
      return readVersionFiles(join(this.userDir(user), versionDirName(v)));
    });
  }

  /**
   * Replaces every version of the user with the archive's. Everything is checked in memory first: the archive
   * (see `unpackAdapterArchive`), each version's metadata and checksum, its PEFT config and tensors (finite
   * values, sane config), the base model, and `limits.maxVersions`. Float16/bfloat16/float64 weights are stored
   * as float32 (the metadata's sha256 then names the float32 file).
   */
  async import(
    user: UserId,
    archive: Uint8Array,
    expectBase?: { readonly name: string; readonly hash: string },
    limits: ImportLimits = {},
  ): Promise<AdapterMetadata[]> {
    checkUserId(user, 'user');
    const versions = unpackAdapterArchive(archive, { maxBytes: this.maxArchiveBytes });
    if (limits.maxVersions !== undefined && versions.length > limits.maxVersions) {
      throw new OppuError(
        'archive_invalid',
        `adapter archive: holds ${versions.length} versions; at most ${limits.maxVersions} are kept per user (export fewer, or raise maxVersions)`,
      );
    }
    const checked: { version: number; config: Uint8Array; weights: Uint8Array; meta: AdapterMetadata }[] = [];
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
      const weights = checkAdapterFiles(entry.config, entry.weights, where, meta.peft.method);
      if (
        expectBase &&
        (meta.baseModel.hash !== expectBase.hash || meta.baseModel.name !== expectBase.name)
      ) {
        throw new OppuError(
          'adapter_base_mismatch',
          `${where}: the adapter was trained on base model ${meta.baseModel.name} (${meta.baseModel.hash.slice(0, 12)}), not on ${expectBase.name} (${expectBase.hash.slice(0, 12)}) in use here`,
        );
      }
      checked.push({
        version: entry.version,
        config: entry.config,
        weights,
        meta: { ...meta, userId: user, sha256: sha256Hex(weights) },
      });
    }
    await this.start();
    await mkdir(this.root, { recursive: true });
    const stage = this.leftoverPath('stage', user);
    const aside = this.leftoverPath('old', user);
    const dir = this.userDir(user);
    await holding([stage, aside], async () => {
      // Stage the new folder completely, then swap it in.
      await mkdir(stage);
      let hadOld = false;
      try {
        for (const v of checked) {
          await writeVersionDir(join(stage, versionDirName(v.version)), v.config, v.weights, v.meta);
        }
        await syncDir(stage);
        await this.recover(user);
        hadOld = await rename(dir, aside).then(
          () => true,
          (error: NodeJS.ErrnoException) => {
            if (error.code === 'ENOENT') return false;
            throw error;
          },
        );
        await rename(stage, dir);
        await syncDir(this.root);
      } catch (error) {
        await rmForce(stage);
        if (hadOld) await rename(aside, dir).catch(() => {}); // the swap failed: the old folder goes back
        throw error;
      }
      if (hadOld) await rmForce(aside);
    });
    return checked.map((v) => v.meta);
  }
}

/** A version's folder, each file durable (fsynced, and the folder too) before the folder is renamed into place. */
async function writeVersionDir(
  dir: string,
  config: string | Uint8Array,
  weights: Uint8Array,
  meta: AdapterMetadata,
): Promise<void> {
  await writeFileAtomic(join(dir, ADAPTER_CONFIG), config);
  await writeFileAtomic(join(dir, ADAPTER_WEIGHTS), weights);
  await writeFileAtomic(join(dir, ADAPTER_META), metaJson(meta));
}

/**
 * Checks an archived version's PEFT files as a loader would read them: `adapter_config.json` is a PEFT config
 * of a supported type whose fields are valid and whose method is the one its metadata names, and the weights
 * are valid safetensors of float tensors with finite values. Returns the weights file to store: the archive's
 * bytes when every tensor is float32, else the tensors rewritten as float32. Errors name the archive entry and field.
 */
function checkAdapterFiles(
  config: Uint8Array,
  weights: Uint8Array,
  where: string,
  method: string,
): Uint8Array {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(config);
  } catch (cause) {
    throw new OppuError('archive_invalid', `${where}/${ADAPTER_CONFIG}: not valid UTF-8`, { cause });
  }
  const decoded = decodeAdapter(text, weights, where); // float tensors only, finite, read as float32
  const at = `${where}/${ADAPTER_CONFIG}`;
  // The registered method its peft_type names reads the config (any method, a user's own included).
  const kind = peftMethods.forWeights(decoded, where);
  const peftConfig = kind.readConfig(decoded.config, at);
  if (kind.name === 'lora') checkLoraTensors(decoded, peftConfig as LoraConfig, where);
  if (kind.name !== method) {
    throw new OppuError(
      'archive_invalid',
      `${at}: peft_type ${JSON.stringify(decoded.config.peft_type)} does not match ${ADAPTER_META} (method ${method})`,
    );
  }
  const header = readSafetensorsHeader(weights, { file: `${where}/${ADAPTER_WEIGHTS}` });
  const allF32 = [...header.tensors.values()].every((t) => t.dtype === 'F32');
  return allF32 ? weights : writeSafetensors(decoded.tensors, { format: 'pt' });
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
