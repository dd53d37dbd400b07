export * from './keyed-queue.js';
export * from './oppu-service.js';
