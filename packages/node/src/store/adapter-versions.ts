import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AdapterMetadata,
  type AdapterWeights,
  OppuError,
  type StoredAdapter,
  type UserId,
} from '@oppu/core';
import { assertFiniteTensors, encodeAdapter, readSafetensors } from '@oppu/trainer';
import { type ArchiveVersion, packAdapterArchive } from './adapter-archive.js';
import { parseAdapterMetadata } from './adapter-metadata.js';

/**
 * What every adapter store (`FsAdapterStore`, `S3AdapterStore` of @oppu/s3) shares: the files of a version, how a
 * new one is written and numbered, which version a read names, and the export archive.
 */

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
export const ADAPTER_META = 'oppu_meta.json';
/** The highest version a store numbers (`v999999999`, the widest version folder it reads). */
export const MAX_ADAPTER_VERSION = 999_999_999;

export const versionDirName = (version: number): string => `v${String(version).padStart(4, '0')}`;

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A version's `oppu_meta.json` as the stores write it. */
export function metaJson(meta: AdapterMetadata): string {
  return `${JSON.stringify(meta, null, 2)}\n`;
}

/**
 * A new version's files, written as the shipped task adapters are (trainer's `encodeAdapter`, PEFT's own layout):
 * `adapter_config.json` with sorted keys and `adapter_model.safetensors` of float32 tensors with the
 * `{"format": "pt"}` metadata PEFT writes. Non-finite weights (a diverged training) are refused.
 */
export function encodeNewVersion(
  user: UserId,
  weights: AdapterWeights,
): { readonly config: string; readonly weights: Uint8Array; readonly sha256: string } {
  assertFiniteTensors(weights.tensors, `user ${user}'s new adapter`);
  const { config, safetensors } = encodeAdapter(weights);
  return { config, weights: safetensors, sha256: sha256Hex(safetensors) };
}

/** The number after the user's newest version; refused past `MAX_ADAPTER_VERSION`. */
export function nextVersion(user: UserId, versions: readonly number[]): number {
  const version = (versions[versions.length - 1] ?? 0) + 1;
  if (version > MAX_ADAPTER_VERSION) {
    throw new OppuError(
      'adapter_version_limit',
      `user ${user} has adapter version ${version - 1}, the highest this store numbers; export, then import the versions renumbered, or forget the user's adapters`,
    );
  }
  return version;
}

/**
 * The version a read asks for among those stored (ascending): `version`, or the newest when it is undefined;
 * undefined when the user has none; an OppuError `adapter_not_found` listing them when `version` is not stored.
 */
export function chooseVersion(
  user: UserId,
  versions: readonly number[],
  version: number | undefined,
): number | undefined {
  const v = version ?? versions[versions.length - 1];
  if (v === undefined) return undefined;
  if (!versions.includes(v)) {
    throw new OppuError(
      'adapter_not_found',
      `user ${user} has no adapter version ${v} (has: ${versions.join(', ') || 'none'})`,
    );
  }
  return v;
}

/**
 * A version's `oppu_meta.json`, parsed and checked to belong to (user, version): a file copied from another
 * user's folder is refused. `where` names the file in errors.
 */
export function readVersionMeta(text: string, user: UserId, version: number, where: string): AdapterMetadata {
  const meta = parseAdapterMetadata(text, where);
  if (meta.userId !== user || meta.version !== version) {
    throw new OppuError(
      'adapter_corrupt',
      `${where}: metadata names user ${meta.userId} version ${meta.version}`,
    );
  }
  return meta;
}

/** Refuses weights whose sha256 is not the one their metadata recorded (changed or damaged since). */
export function checkWeightsChecksum(meta: AdapterMetadata, weights: Uint8Array, where: string): void {
  if (sha256Hex(weights) !== meta.sha256) {
    throw new OppuError(
      'adapter_checksum',
      `${where}: checksum does not match ${ADAPTER_META} (it was changed or damaged); roll back to an earlier version or retrain`,
    );
  }
}

/**
 * A stored version as `get` returns it: the weights checked against the metadata's sha256, the config parsed.
 * `where(file)` names one of the version's files in errors (a path, an `s3://` address).
 */
export function decodeStoredVersion(
  meta: AdapterMetadata,
  config: Uint8Array,
  weights: Uint8Array,
  where: (file: string) => string,
): StoredAdapter {
  checkWeightsChecksum(meta, weights, where(ADAPTER_WEIGHTS));
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(new TextDecoder().decode(config));
  } catch (error) {
    throw new OppuError('adapter_corrupt', `${where(ADAPTER_CONFIG)}: not valid JSON`, { cause: error });
  }
  const { tensors } = readSafetensors(weights, { file: where(ADAPTER_WEIGHTS) });
  return { meta, weights: { config: parsed, tensors } };
}

/** The export archive of the user's `versions`, each read (checksum verified) by `read`. */
export async function exportVersions(
  user: UserId,
  versions: readonly number[],
  read: (version: number) => Promise<Omit<ArchiveVersion, 'version'>>,
): Promise<Uint8Array> {
  if (versions.length === 0) {
    throw new OppuError('adapter_not_found', `user ${user} has no adapter to export; train one first`);
  }
  const entries: ArchiveVersion[] = [];
  for (const version of versions) entries.push({ version, ...(await read(version)) });
  return packAdapterArchive(user, entries);
}

/** The three files of a version folder, as bytes. */
export async function readVersionFiles(dir: string): Promise<Omit<ArchiveVersion, 'version'>> {
  return {
    config: await readFile(join(dir, ADAPTER_CONFIG)),
    weights: await readFile(join(dir, ADAPTER_WEIGHTS)),
    meta: await readFile(join(dir, ADAPTER_META)),
  };
}
