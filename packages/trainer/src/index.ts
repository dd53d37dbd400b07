export {};
export * from './safetensors/index.js';
export * from './peft/index.js';
