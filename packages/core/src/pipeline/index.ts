export * from './methods.js';
export * from './prompts.js';
export * from './run-lamp.js';
