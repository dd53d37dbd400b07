export * from './gguf-file.js';
export * from './llama-gguf.js';
