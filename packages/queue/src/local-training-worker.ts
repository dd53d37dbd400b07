import { join, resolve } from 'node:path';
import { createLocalOppu, FsAdapterStore, type LocalOppu, type LocalOppuOptions, oppuHome } from '@oppu/node';
import { JobTaggedAdapterStore } from './job-tagged-adapter-store.js';
import { TrainingWorker, type TrainingWorkerOptions } from './training-worker.js';

export interface LocalTrainingWorkerOptions extends Omit<TrainingWorkerOptions, 'service' | 'adapters'> {
  /** How to build this worker's service (`createLocalOppu`); `home` and `adapters` must be the ones producers use. */
  readonly oppu?: LocalOppuOptions;
}

export interface LocalTrainingWorker {
  readonly worker: TrainingWorker;
  readonly oppu: LocalOppu;
  /** Stops taking jobs, waits for the running one, then closes the service. */
  close(): Promise<void>;
}

/**
 * A training worker over `createLocalOppu`: the history at `<home>/history.sqlite`, adapters in `oppu.adapters`
 * (default the file-system store at `<home>/adapters`), the engine loaded here.
 */
export async function startLocalTrainingWorker(
  options: LocalTrainingWorkerOptions,
): Promise<LocalTrainingWorker> {
  const { oppu: oppuOptions = {}, ...workerOptions } = options;
  const home = oppuOptions.home ? resolve(oppuOptions.home) : oppuHome();
  const adapters = new JobTaggedAdapterStore(
    oppuOptions.adapters ?? new FsAdapterStore({ root: join(home, 'adapters') }),
  );
  const oppu = await createLocalOppu({ ...oppuOptions, home, adapters });
  const worker = new TrainingWorker({ ...workerOptions, service: oppu.service, adapters });
  try {
    await worker.ready();
  } catch (error) {
    await worker.close().catch(() => {});
    await oppu.close();
    throw error;
  }
  return {
    worker,
    oppu,
    async close() {
      await worker.close();
      await oppu.close();
    },
  };
}
