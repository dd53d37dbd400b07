/**
 * `@oppu/contracts`: the interfaces every oppu package implements or consumes, and the one error type. No
 * implementation, no Node built-in, no tfjs: a browser bundle, an edge function or another runtime can import it.
 * Interfaces a package implements carry their version in the name (`BaseModelV1`, `PeftEngineV1`, ...), as
 * `@ai-sdk/provider` does, so a later `V2` can sit beside them; the unversioned names (`BaseModel`) are the current
 * version. `@oppu/core` re-exports all of it.
 */
export * from './adapter-store.js';
export * from './base-model.js';
export * from './chat-template.js';
export * from './engine.js';
export * from './errors.js';
export * from './history.js';
export * from './history-store.js';
export * from './peft.js';
export * from './peft-method-info.js';
export * from './profile-summarizer.js';
export * from './progress.js';
export * from './retriever.js';
export * from './task.js';
export * from './tensors.js';
export * from './user.js';
