// Defined in @oppu/contracts (no Node built-in, no tfjs: importable from a browser); core re-exports them.
export type {
  RetrieveOptions,
  Retriever,
  RetrieverV1,
} from '@oppu/contracts';
