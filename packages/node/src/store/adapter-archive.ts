import { crc32 } from 'node:zlib';
import { OppuError } from '@oppu/core';
import { strToU8, unzipSync, zipSync } from 'fflate';

/**
 * The archive a user takes away: a zip holding every version of their adapter in PEFT layout.
 *
 *     oppu-adapter.json                  {format, formatVersion, userId, exportedAt, versions}
 *     v0001/adapter_config.json
 *     v0001/adapter_model.safetensors
 *     v0001/oppu_meta.json
 *
 * Reading treats the archive as hostile: only these names are accepted (so no path traversal, links or
 * surprises), each name once, declared and actual sizes are bounded before and after inflating, and every
 * entry's CRC-32 is checked (fflate does not), so a damaged config or metadata entry is never imported.
 */
export const ARCHIVE_FORMAT = 'oppu-adapter-archive';
/** The highest version number an archive may bring in (the store numbers versions up to 999,999,999). */
export const MAX_IMPORTED_VERSION = 1_000_000;
const MANIFEST = 'oppu-adapter.json';
const ENTRY = /^v(\d{4,9})\/(adapter_config\.json|adapter_model\.safetensors|oppu_meta\.json)$/;

export interface ArchiveVersion {
  readonly version: number;
  readonly config: Uint8Array;
  readonly weights: Uint8Array;
  readonly meta: Uint8Array;
}

export function packAdapterArchive(user: string, versions: readonly ArchiveVersion[]): Uint8Array {
  const files: Record<string, Uint8Array> = {
    [MANIFEST]: strToU8(
      `${JSON.stringify(
        {
          format: ARCHIVE_FORMAT,
          formatVersion: 1,
          userId: user,
          exportedAt: new Date().toISOString(),
          versions: versions.map((v) => v.version),
        },
        null,
        2,
      )}\n`,
    ),
  };
  for (const v of versions) {
    const d = `v${String(v.version).padStart(4, '0')}`;
    files[`${d}/adapter_config.json`] = v.config;
    files[`${d}/adapter_model.safetensors`] = v.weights;
    files[`${d}/oppu_meta.json`] = v.meta;
  }
  return zipSync(files, { level: 6, mtime: new Date('2000-01-01T00:00:00Z') });
}

export interface UnpackOptions {
  /** Largest total uncompressed size accepted (and largest archive). */
  readonly maxBytes: number;
}

export function unpackAdapterArchive(archive: Uint8Array, options: UnpackOptions): ArchiveVersion[] {
  const bad = (message: string): never => {
    throw new OppuError('archive_invalid', `adapter archive: ${message}`);
  };
  if (!(archive instanceof Uint8Array) || archive.length === 0) bad('empty or not bytes');
  if (archive.length > options.maxBytes)
    bad(`${archive.length} bytes is over the limit of ${options.maxBytes}`);
  // PK\x03\x04 (local file header) or PK\x05\x06 (empty archive).
  if (archive[0] !== 0x50 || archive[1] !== 0x4b)
    bad('not a zip file (export one with "oppu export" or /export)');
  const seen = new Set<string>();
  let declared = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(archive, {
      filter(file) {
        if (file.name !== MANIFEST && !ENTRY.test(file.name)) {
          bad(
            `unexpected entry ${JSON.stringify(file.name.slice(0, 120))} (only ${MANIFEST} and vNNNN/<PEFT files> are allowed)`,
          );
        }
        if (seen.has(file.name)) bad(`entry ${file.name} appears twice`);
        seen.add(file.name);
        declared += file.originalSize;
        if (file.originalSize > options.maxBytes || declared > options.maxBytes) {
          bad(`declared uncompressed size exceeds the limit of ${options.maxBytes} bytes`);
        }
        return true;
      },
    });
  } catch (error) {
    if (error instanceof OppuError) throw error;
    return bad(`cannot be read as a zip archive (${(error as Error).message})`);
  }
  let actual = 0;
  for (const data of Object.values(files)) actual += data.length;
  if (actual > options.maxBytes) bad(`uncompressed size exceeds the limit of ${options.maxBytes} bytes`);
  const crcs = centralDirectoryCrcs(archive, bad);
  for (const [name, data] of Object.entries(files)) {
    const want = crcs.get(name);
    if (want === undefined) bad(`entry ${name} is not in the zip's central directory`);
    if (crc32(data) !== want) {
      bad(`entry ${name} is damaged (its CRC-32 does not match); export the adapter again`);
    }
  }

  const manifestBytes = files[MANIFEST] ?? bad(`has no ${MANIFEST}`);
  let manifest: { format?: unknown; formatVersion?: unknown; versions?: unknown };
  try {
    manifest = JSON.parse(new TextDecoder().decode(manifestBytes));
  } catch {
    return bad(`${MANIFEST} is not valid JSON`);
  }
  if (manifest.format !== ARCHIVE_FORMAT || manifest.formatVersion !== 1) {
    bad(`${MANIFEST} is not an oppu adapter archive of format version 1`);
  }
  const listed = manifest.versions;
  if (!Array.isArray(listed) || listed.length === 0 || !listed.every((v) => Number.isInteger(v) && v > 0)) {
    bad(`${MANIFEST}: "versions" must be a non-empty list of positive integers`);
  }
  const over = (listed as number[]).find((v) => v > MAX_IMPORTED_VERSION);
  if (over !== undefined) {
    bad(
      `${MANIFEST}: version ${over} is over ${MAX_IMPORTED_VERSION}, the highest an import takes (the store must still number the versions trained after it)`,
    );
  }
  if (new Set(listed as number[]).size !== (listed as number[]).length) {
    bad(`${MANIFEST}: "versions" lists a version twice`);
  }
  const out: ArchiveVersion[] = [];
  for (const v of listed as number[]) {
    const d = `v${String(v).padStart(4, '0')}`;
    const get = (name: string) => files[`${d}/${name}`] ?? bad(`${d}/${name} is missing`);
    out.push({
      version: v,
      config: get('adapter_config.json'),
      weights: get('adapter_model.safetensors'),
      meta: get('oppu_meta.json'),
    });
  }
  const expected = new Set([
    MANIFEST,
    ...out.flatMap((v) => {
      const d = `v${String(v.version).padStart(4, '0')}`;
      return [`${d}/adapter_config.json`, `${d}/adapter_model.safetensors`, `${d}/oppu_meta.json`];
    }),
  ]);
  for (const name of Object.keys(files))
    if (!expected.has(name)) bad(`entry ${name} is not listed in ${MANIFEST}`);
  return out.sort((a, b) => a.version - b.version);
}

/**
 * Name -> CRC-32 of each entry, from the zip's central directory (PKWARE APPNOTE 4.3.12, 4.3.16). Zip64 is
 * refused: an adapter archive is far under its 4 GiB and 65,535-entry bounds.
 */
function centralDirectoryCrcs(zip: Uint8Array, bad: (message: string) => never): Map<string, number> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) bad('has no zip end-of-central-directory record');
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  if (count === 0xffff || at === 0xffffffff) bad('is a zip64 archive, which oppu never writes');
  const out = new Map<string, number>();
  const decoder = new TextDecoder();
  for (let k = 0; k < count; k++) {
    if (at + 46 > zip.length || view.getUint32(at, true) !== 0x02014b50) {
      bad('has a damaged central directory');
    }
    const nameLength = view.getUint16(at + 28, true);
    const extra = view.getUint16(at + 30, true);
    const comment = view.getUint16(at + 32, true);
    if (at + 46 + nameLength > zip.length) bad('has a damaged central directory');
    out.set(decoder.decode(zip.subarray(at + 46, at + 46 + nameLength)), view.getUint32(at + 16, true));
    at += 46 + nameLength + extra + comment;
  }
  return out;
}
