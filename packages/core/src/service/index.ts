export * from './adapter-cache.js';
export * from './keyed-queue.js';
export * from './oppu-service.js';
