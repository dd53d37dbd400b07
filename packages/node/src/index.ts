export * from './base-model-dir.js';
export * from './create-local-oppu.js';
export * from './ranker.js';
export * from './store/index.js';
export * from './task-adaptation.js';
export * from './test-checkpoint.js';
