export * from './backend/init-backend.js';
export * from './model/hooks.js';
export * from './peft/index.js';
export * from './safetensors/index.js';
export * from './train/index.js';
export * from './model/llama.js';
export * from './loaders/llama2c.js';
