export * from './classification.js';
export * from './generation.js';
export * from './regression.js';
export * from './rouge.js';
export * from './score-lamp.js';
