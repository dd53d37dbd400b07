/**
 * HF `get_linear_schedule_with_warmup`: the learning rate of optimizer step `step` (0-based, the value the
 * scheduler holds when that step runs). It rises linearly from 0 over `warmupSteps`, then falls linearly to
 * 0 at `totalSteps`. As in HF, the first step of a warm-up runs at lr 0.
 */
export function linearWarmupLr(
  baseLr: number,
  step: number,
  warmupSteps: number,
  totalSteps: number,
): number {
  if (step < warmupSteps) return (baseLr * step) / Math.max(1, warmupSteps);
  return baseLr * Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
}

/** HF `TrainingArguments.get_warmup_steps`: ceil(total · ratio). */
export function warmupSteps(totalSteps: number, warmupRatio: number): number {
  return Math.ceil(totalSteps * warmupRatio);
}

/**
 * Linear warm-up to `peak` over `warmup` steps (step 0 already at peak / warmup), then cosine decay to
 * `peak * minRatio` at step `total` (nanoGPT's `get_lr`): the pretraining schedule.
 */
export function cosineSchedule(
  step: number,
  total: number,
  warmup: number,
  peak: number,
  minRatio = 0.1,
): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const t = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * t)));
}
