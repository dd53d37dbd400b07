// A PEFT adapter folder (`adapter_config.json` + `adapter_model.safetensors`), for `oppu generate --adapter`;
// the registered PEFT methods, for `oppu run --peft`.
export { loadAdapter, peftMethods } from '@oppu/trainer';
export * from './base-model-dir.js';
export * from './create-local-oppu.js';
export * from './export-gguf.js';
export * from './ranker.js';
export * from './store/index.js';
export * from './task-adaptation.js';
export * from './test-checkpoint.js';
export * from './worker/index.js';
