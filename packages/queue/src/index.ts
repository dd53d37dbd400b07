export * from './job-id.js';
export * from './job-tagged-adapter-store.js';
export * from './local-redis.js';
export * from './local-training-worker.js';
export * from './training-job.js';
export * from './training-queue.js';
export * from './training-worker.js';
export * from './user-lock.js';
