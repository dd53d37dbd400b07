// Defined in @oppu/contracts (no Node built-in, no tfjs: importable from a browser); core re-exports them.
export type {
  AdapterMetadata,
  AdapterStore,
  AdapterStoreV1,
  ImportLimits,
  StoredAdapter,
} from '@oppu/contracts';
