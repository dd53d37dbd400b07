export * from './label-choice.js';
export * from './methods.js';
export * from './prompt-fit.js';
export * from './prompts.js';
export * from './run-lamp.js';
export * from './task-adaptation.js';
