import { OPPU_TRAINING, OppuError, type TrainingConfig } from '@oppu/core';

/** OPPU_TRAINING with the caller's overrides, checked. */
export function resolveTrainingConfig(config: Partial<TrainingConfig> = {}): TrainingConfig {
  const c: TrainingConfig = { ...OPPU_TRAINING, ...config };
  const bad = (what: string): never => {
    throw new OppuError('invalid_training_config', `training config: ${what}`);
  };
  if (!(c.learningRate > 0)) bad(`learningRate must be > 0, got ${c.learningRate}`);
  if (!(c.weightDecay >= 0)) bad(`weightDecay must be >= 0, got ${c.weightDecay}`);
  if (!(c.warmupRatio >= 0 && c.warmupRatio < 1)) bad(`warmupRatio must be in [0, 1), got ${c.warmupRatio}`);
  if (!(c.maxGradNorm >= 0)) bad(`maxGradNorm must be >= 0 (0 turns clipping off), got ${c.maxGradNorm}`);
  if (!Number.isSafeInteger(c.batchSize) || c.batchSize < 1)
    bad(`batchSize must be a positive integer, got ${c.batchSize}`);
  if (!Number.isSafeInteger(c.gradientAccumulationSteps) || c.gradientAccumulationSteps < 1)
    bad(`gradientAccumulationSteps must be a positive integer, got ${c.gradientAccumulationSteps}`);
  if (!Number.isSafeInteger(c.maxLength) || c.maxLength < 2)
    bad(`maxLength must be an integer >= 2, got ${c.maxLength}`);
  if (c.maxSteps !== undefined && (!Number.isSafeInteger(c.maxSteps) || c.maxSteps < 1))
    bad(`maxSteps must be a positive integer, got ${c.maxSteps}`);
  if (c.maxSteps === undefined && !(c.epochs > 0)) bad(`epochs must be > 0, got ${c.epochs}`);
  if (!Number.isSafeInteger(c.seed)) bad(`seed must be an integer, got ${c.seed}`);
  return c;
}
