// Defined in @oppu/contracts (no Node built-in, no tfjs: importable from a browser); core re-exports them.
export type {
  PeftConfigBase,
  PeftMethodCatalog,
  PeftMethodCatalogV1,
  PeftMethodInfo,
  PeftMethodInfoV1,
} from '@oppu/contracts';
