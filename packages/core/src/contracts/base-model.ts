// Defined in @oppu/contracts (no Node built-in, no tfjs: importable from a browser); core re-exports them.
export type {
  BaseModel,
  BaseModelInfo,
  BaseModelV1,
  CandidateScores,
  GenerateRequest,
  GenerateResult,
  PromptFormat,
  SamplingOptions,
  ScoreRequest,
} from '@oppu/contracts';
export * from './chat-template.js';
