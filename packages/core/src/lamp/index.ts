export * from './input-format.js';
export { type JsonStreamOptions, type StreamedValue, streamJsonValues } from './json-stream.js';
export * from './labels.js';
export * from './oppu-templates.js';
export * from './outputs.js';
export * from './questions.js';
export * from './task-ids.js';
export * from './tasks.js';
