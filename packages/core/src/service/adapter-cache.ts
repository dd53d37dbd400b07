import { LRUCache } from 'lru-cache';
import type { StoredAdapter } from '../contracts/adapter-store.js';
import type { AdapterWeights } from '../contracts/tensors.js';
import type { UserId } from '../contracts/user.js';

/** Bytes an adapter's tensors take in memory. */
export function adapterBytes(weights: AdapterWeights): number {
  let n = 0;
  for (const t of weights.tensors.values()) n += t.data.byteLength;
  return n;
}

export interface AdapterCacheOptions {
  /** Memory budget for cached adapters, in bytes (default 256 MiB). */
  readonly maxBytes?: number;
  /** Called with each adapter dropped from the cache, e.g. to free tensors an engine built from it. */
  readonly onEvict?: (user: UserId, adapter: StoredAdapter) => void;
}

/**
 * LRU cache of loaded adapters under a memory budget, keyed by user and version (lru-cache does the
 * bookkeeping). `forget(user)` drops every entry of the user.
 */
export class AdapterCache {
  private readonly lru: LRUCache<string, StoredAdapter>;

  constructor(options: AdapterCacheOptions = {}) {
    const onEvict = options.onEvict;
    this.lru = new LRUCache<string, StoredAdapter>({
      maxSize: options.maxBytes ?? 256 * 1024 * 1024,
      sizeCalculation: (value) => Math.max(1, adapterBytes(value.weights)),
      ...(onEvict ? { dispose: (value: StoredAdapter) => onEvict(value.meta.userId, value) } : {}),
    });
  }

  private static key(user: UserId, version: number): string {
    return `${user}@${version}`;
  }

  /**
   * The cached adapter of this user and version; with `sha256` (the store's current checksum of that version), only
   * when the cached weights are those: a version number can be written again by another process (a re-import, a
   * store emptied and trained anew), and then the entry is dropped and the store is read.
   */
  get(user: UserId, version: number, sha256?: string): StoredAdapter | undefined {
    const key = AdapterCache.key(user, version);
    const hit = this.lru.get(key);
    if (hit && sha256 !== undefined && hit.meta.sha256 !== sha256) {
      this.lru.delete(key);
      return undefined;
    }
    return hit;
  }

  set(adapter: StoredAdapter): void {
    this.lru.set(AdapterCache.key(adapter.meta.userId, adapter.meta.version), adapter);
  }

  /** Drops every cached version of the user. */
  forget(user: UserId): void {
    for (const key of [...this.lru.keys()]) if (key.startsWith(`${user}@`)) this.lru.delete(key);
  }

  keys(): string[] {
    return [...this.lru.keys()];
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }
}
