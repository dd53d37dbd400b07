import type {
  AdapterMetadata,
  AdapterStore,
  AdapterWeights,
  ImportLimits,
  StoredAdapter,
  UserId,
} from '@oppu/core';

/**
 * An adapter store that writes the id of the job now training a user into each version it stores
 * (`meta.training.job`), in the same atomic write as the weights. A job retried after its worker died looks for a
 * version carrying its id first: if the dead worker got as far as storing it, that version is the job's result and
 * nothing is trained twice. Everything else goes straight to the wrapped store.
 */
export class JobTaggedAdapterStore implements AdapterStore {
  private readonly jobs = new Map<string, { job: string; check?: () => Promise<void> }>();

  constructor(readonly inner: AdapterStore) {}

  /**
   * Versions stored for `user` from now on carry `job` (until `untag`). `check`, if given, runs just before each
   * such write and may throw to refuse it (the worker checks it still holds the user's lock).
   */
  tag(user: UserId, job: string, check?: () => Promise<void>): void {
    this.jobs.set(user, { job, ...(check ? { check } : {}) });
  }

  untag(user: UserId): void {
    this.jobs.delete(user);
  }

  /** The version an earlier attempt of `job` stored for `user`, if any. */
  async findJob(user: UserId, job: string): Promise<AdapterMetadata | undefined> {
    return (await this.inner.list(user)).find((m) => m.training?.job === job);
  }

  async put(
    user: UserId,
    weights: AdapterWeights,
    meta: Omit<AdapterMetadata, 'version' | 'sha256' | 'userId'>,
  ): Promise<AdapterMetadata> {
    const tag = this.jobs.get(user);
    if (!tag) return this.inner.put(user, weights, meta);
    await tag.check?.();
    return this.inner.put(user, weights, { ...meta, training: { ...(meta.training ?? {}), job: tag.job } });
  }

  list(user: UserId): Promise<AdapterMetadata[]> {
    return this.inner.list(user);
  }

  get(user: UserId, version?: number): Promise<StoredAdapter | undefined> {
    return this.inner.get(user, version);
  }

  delete(user: UserId, version?: number): Promise<void> {
    return this.inner.delete(user, version);
  }

  export(user: UserId): Promise<Uint8Array> {
    return this.inner.export(user);
  }

  import(
    user: UserId,
    archive: Uint8Array,
    expectBase?: { readonly name: string; readonly hash: string },
    limits?: ImportLimits,
  ): Promise<AdapterMetadata[]> {
    return this.inner.import(user, archive, expectBase, limits);
  }
}
