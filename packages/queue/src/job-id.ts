import { createHash } from 'node:crypto';
import { userId as checkUserId, OppuError, type UserId } from '@oppu/core';

/**
 * The job id of one training request: the same (user, request) always gives the same id, so enqueueing it twice
 * (a retried HTTP call, a bot that restarted) adds one job. BullMQ refuses `:` in custom ids; user ids never hold
 * one, and the request is hashed so any string may name it (a Discord interaction id, a history revision).
 */
export function trainingJobId(user: UserId, request: string): string {
  const u = checkUserId(user, 'user');
  if (typeof request !== 'string' || request.length === 0) {
    throw new OppuError(
      'invalid_request',
      `enqueueTraining(${u}): "request" must be a non-empty string naming this training request (e.g. the message or revision that asked for it)`,
    );
  }
  const digest = createHash('sha256').update(request).digest('hex').slice(0, 24);
  return `train.${u}.${digest}`;
}
