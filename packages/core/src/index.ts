export * from './contracts/index.js';
export * from './pipeline/index.js';
