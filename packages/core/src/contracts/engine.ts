// Defined in @oppu/contracts (no Node built-in, no tfjs: importable from a browser); core re-exports them.
export type {
  AdapterTrainingResult,
  PeftEngine,
  PeftEngineV1,
  TextRanker,
  TextRankerV1,
  TrainAdapterOptions,
  TrainingExample,
} from '@oppu/contracts';
