import type { ProgressEvent } from '@oppu/core';

/** `[██████░░░░] 60%`: a text bar that reads well in a Discord message. */
export function progressBar(done: number, total: number, width = 20): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(fraction * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${Math.floor(fraction * 100)}%`;
}

/** One line for a training progress event: bar, step, loss, speed and time left when known. */
export function progressLine(event: ProgressEvent): string {
  const parts = [progressBar(event.done, event.total), `${event.phase} ${event.done}/${event.total}`];
  if (event.loss !== undefined && Number.isFinite(event.loss)) parts.push(`loss ${event.loss.toFixed(3)}`);
  if (event.tokensPerSecond !== undefined) parts.push(`${Math.round(event.tokensPerSecond)} tok/s`);
  if (event.etaSeconds !== undefined && Number.isFinite(event.etaSeconds)) {
    parts.push(`~${Math.ceil(event.etaSeconds)} s left`);
  }
  if (event.message) parts.push(event.message);
  return parts.join(' · ');
}
