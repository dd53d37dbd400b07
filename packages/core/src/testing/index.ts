/**
 * `@oppu/core/testing`: stand-ins for users' tests, as `@langchain/core/utils/testing` ships fakes: an engine that
 * "trains" deterministically without tfjs, adapter and history stores in memory, a word-overlap ranker. None of
 * them loads a model, touches the disk or imports a Node built-in.
 */
export * from './fake-engine.js';
export * from './fake-model.js';
export * from './in-memory-adapter-store.js';
export * from './in-memory-history-store.js';
export * from './word-overlap-ranker.js';
