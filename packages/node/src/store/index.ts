export * from './adapter-archive.js';
export * from './adapter-metadata.js';
export * from './adapter-versions.js';
export * from './fs-adapter-store.js';
export * from './oppu-home.js';
