export {};
export * from './safetensors/index.js';
