import type { PeftConfig, TrainingConfig } from './peft.js';
import type { AdapterWeights } from './tensors.js';
import type { UserId } from './user.js';

/** What is recorded beside every stored adapter version. */
export interface AdapterMetadata {
  readonly userId: UserId;
  readonly version: number;
  readonly task: string;
  readonly baseModel: { readonly name: string; readonly hash: string };
  readonly peft: PeftConfig;
  readonly training?: Partial<TrainingConfig> & {
    readonly steps?: number;
    readonly finalLoss?: number;
    readonly items?: number;
    readonly seconds?: number;
    /**
     * The queued job that produced this version (e.g. @oppu/queue's job id), written with the version so a job
     * retried after its worker died finds its own result instead of training a second version.
     */
    readonly job?: string;
  };
  readonly createdAt: string;
  /** Version this one continued from (incremental update), if any. */
  readonly parent?: number;
  /** sha256 of `adapter_model.safetensors`, verified on load. */
  readonly sha256: string;
}

export interface StoredAdapter {
  readonly meta: AdapterMetadata;
  readonly weights: AdapterWeights;
}

/** Per-user, versioned adapter storage. Every write is atomic; one user's versions are never visible to another. */
export interface AdapterStoreV1 {
  list(user: UserId): Promise<AdapterMetadata[]>;
  /** The latest version, or the given one; undefined if the user has none. */
  get(user: UserId, version?: number): Promise<StoredAdapter | undefined>;
  put(
    user: UserId,
    weights: AdapterWeights,
    meta: Omit<AdapterMetadata, 'version' | 'sha256' | 'userId'>,
  ): Promise<AdapterMetadata>;
  /** Deletes one version, or every version of the user. */
  delete(user: UserId, version?: number): Promise<void>;
  /** One archive the user can take away: every version with its metadata. */
  export(user: UserId): Promise<Uint8Array>;
  /**
   * Validates an archive (format, checksums, PEFT files with finite weights, base model, `limits`) before anything
   * is replaced, then replaces every version of the user with the archive's.
   */
  import(
    user: UserId,
    archive: Uint8Array,
    expectBase?: { readonly name: string; readonly hash: string },
    limits?: ImportLimits,
  ): Promise<AdapterMetadata[]>;
}

export interface ImportLimits {
  /** Most versions an archive may hold (the service passes its `maxVersions`); more is refused, nothing written. */
  readonly maxVersions?: number;
}

/** `AdapterStoreV1` under its unversioned name (the current version). */
export type AdapterStore = AdapterStoreV1;
