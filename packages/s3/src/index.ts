export * from './s3-adapter-store.js';
