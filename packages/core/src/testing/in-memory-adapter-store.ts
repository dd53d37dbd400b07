import type {
  AdapterMetadata,
  AdapterStore,
  ImportLimits,
  StoredAdapter,
} from '../contracts/adapter-store.js';
import { OppuError } from '../contracts/errors.js';
import type { AdapterWeights, HostTensor } from '../contracts/tensors.js';
import type { UserId } from '../contracts/user.js';

const ARCHIVE_FORMAT = 'oppu-in-memory-adapters/1';

interface ArchivedTensor {
  readonly name: string;
  readonly dtype: HostTensor['dtype'];
  readonly shape: readonly number[];
  readonly values: readonly number[];
}

/** sha256 (hex) of the tensors' names, shapes and float32 bytes, in name order (WebCrypto: Node 20 and browsers). */
async function tensorsSha256(weights: AdapterWeights): Promise<string> {
  const parts: Uint8Array[] = [];
  const text = new TextEncoder();
  for (const [name, t] of [...weights.tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    parts.push(text.encode(`${name}:${t.dtype}:${t.shape.join('x')};`));
    parts.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = await globalThis.crypto.subtle.digest('SHA-256', all);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function assertFinite(weights: AdapterWeights, where: string): void {
  for (const [name, t] of weights.tensors) {
    if (!(t.data instanceof Float32Array)) continue;
    const i = t.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0)
      throw new OppuError(
        'adapter_not_finite',
        `${where}: tensor "${name}" holds ${t.data[i]} at element ${i}; the adapter diverged (retrain it)`,
      );
  }
}

/**
 * An `AdapterStore` in memory, for tests of code that uses one (the service, a bot, a route): versions numbered
 * from 1 per user, metadata with a sha256 of the weights, `export`/`import` as a JSON archive of its own (not the
 * zip `@oppu/node`'s stores write), non-finite weights and archives over `limits.maxVersions` refused. Weights
 * are copied in and out, so a caller changing its arrays never changes a stored version.
 */
export class InMemoryAdapterStore implements AdapterStore {
  private readonly users = new Map<UserId, StoredAdapter[]>();

  async list(user: UserId): Promise<AdapterMetadata[]> {
    return (this.users.get(user) ?? []).map((v) => v.meta);
  }

  async get(user: UserId, version?: number): Promise<StoredAdapter | undefined> {
    const versions = this.users.get(user) ?? [];
    const found =
      version === undefined
        ? versions[versions.length - 1]
        : versions.find((v) => v.meta.version === version);
    return found && { meta: found.meta, weights: copyWeights(found.weights) };
  }

  async put(
    user: UserId,
    weights: AdapterWeights,
    meta: Omit<AdapterMetadata, 'version' | 'sha256' | 'userId'>,
  ): Promise<AdapterMetadata> {
    assertFinite(weights, `adapter of ${user}`);
    const versions = this.users.get(user) ?? [];
    const version = (versions[versions.length - 1]?.meta.version ?? 0) + 1;
    const stored = copyWeights(weights);
    const full: AdapterMetadata = { ...meta, userId: user, version, sha256: await tensorsSha256(stored) };
    this.users.set(user, [...versions, { meta: full, weights: stored }]);
    return full;
  }

  async delete(user: UserId, version?: number): Promise<void> {
    if (version === undefined) {
      this.users.delete(user);
      return;
    }
    const kept = (this.users.get(user) ?? []).filter((v) => v.meta.version !== version);
    if (kept.length > 0) this.users.set(user, kept);
    else this.users.delete(user);
  }

  async export(user: UserId): Promise<Uint8Array> {
    const versions = (this.users.get(user) ?? []).map((v) => ({
      meta: v.meta,
      config: v.weights.config,
      tensors: [...v.weights.tensors].map(
        ([name, t]): ArchivedTensor => ({
          name,
          dtype: t.dtype,
          shape: t.shape,
          values: [...(t.data as Float32Array)],
        }),
      ),
    }));
    return new TextEncoder().encode(JSON.stringify({ format: ARCHIVE_FORMAT, versions }));
  }

  async import(
    user: UserId,
    archive: Uint8Array,
    expectBase?: { readonly name: string; readonly hash: string },
    limits: ImportLimits = {},
  ): Promise<AdapterMetadata[]> {
    const fail = (what: string): never => {
      throw new OppuError('archive_invalid', `adapter archive: ${what}`);
    };
    let parsed: { format?: unknown; versions?: unknown };
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(archive));
    } catch {
      return fail(`not an archive written by InMemoryAdapterStore.export (${ARCHIVE_FORMAT})`);
    }
    if (parsed?.format !== ARCHIVE_FORMAT || !Array.isArray(parsed.versions))
      fail(`format is ${JSON.stringify(parsed?.format)}, expected ${ARCHIVE_FORMAT}`);
    const entries = parsed.versions as {
      meta: AdapterMetadata;
      config: Record<string, unknown>;
      tensors: ArchivedTensor[];
    }[];
    if (limits.maxVersions !== undefined && entries.length > limits.maxVersions)
      fail(`holds ${entries.length} versions; at most ${limits.maxVersions} are kept per user`);
    const checked: StoredAdapter[] = [];
    for (const [i, e] of entries.entries()) {
      const where = `adapter archive: version ${e?.meta?.version ?? `#${i + 1}`}`;
      if (!e?.meta || typeof e.meta.version !== 'number' || !Array.isArray(e.tensors))
        fail(`entry ${i + 1} has no metadata or tensors`);
      const weights: AdapterWeights = {
        config: e.config,
        tensors: new Map(
          e.tensors.map((t) => [
            t.name,
            { dtype: 'float32', shape: t.shape, data: Float32Array.from(t.values) },
          ]),
        ),
      };
      assertFinite(weights, where);
      if ((await tensorsSha256(weights)) !== e.meta.sha256)
        fail(`version ${e.meta.version}: checksum does not match its metadata`);
      const base = e.meta.baseModel;
      if (expectBase && (base?.name !== expectBase.name || base?.hash !== expectBase.hash))
        throw new OppuError(
          'adapter_base_mismatch',
          `${where}: the adapter was trained on base model ${base?.name}, not on ${expectBase.name} in use here`,
        );
      checked.push({ meta: { ...e.meta, userId: user }, weights });
    }
    if (checked.length > 0) this.users.set(user, checked);
    else this.users.delete(user);
    return checked.map((v) => v.meta);
  }
}

function copyWeights(weights: AdapterWeights): AdapterWeights {
  return {
    config: structuredClone(weights.config),
    tensors: new Map(
      [...weights.tensors].map(([name, t]) => [
        name,
        { dtype: t.dtype, shape: [...t.shape], data: t.data.slice() },
      ]),
    ),
  };
}
