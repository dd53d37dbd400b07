export * from './contracts/index.js';
export * from './lamp/index.js';
export * from './metrics/index.js';
export * from './pipeline/index.js';
export * from './service/index.js';
export * from './synth/index.js';
export {
  type AtomicWriter,
  createAtomicWriter,
  syncDir,
  writeDirAtomicSync,
  writeFileAtomic,
  writeFileAtomicSync,
} from './util/atomic-write.js';
