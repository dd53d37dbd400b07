import { OppuError } from '@oppu/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** HTTP status for each OppuError code that is not a plain bad request (400). */
const STATUS: Readonly<Record<string, number>> = {
  unknown_user: 404,
  adapter_not_found: 404,
  evaluation_not_found: 404,
  no_training: 404,
  not_found: 404,
  user_exists: 409,
  training_running: 409,
  evaluation_running: 409,
  evaluation_not_running: 409,
  no_history: 409,
  aborted: 409,
  limit_items: 422,
  limit_train_time: 422,
  adapter_base_mismatch: 422,
};

interface ValidationIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** `body.items[3]: must have required property 'tag'`, with a hint for user ids. */
function describeIssue(context: string, issue: ValidationIssue): string {
  const path = issue.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('');
  const where = `${context}${path}`;
  switch (issue.keyword) {
    case 'additionalProperties':
      return `${where}: unknown field "${String(issue.params.additionalProperty)}"`;
    case 'required':
      return `${where}: missing required field "${String(issue.params.missingProperty)}"`;
    case 'enum':
      return `${where}: must be one of ${(issue.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      if (String(issue.params.pattern).includes('A-Za-z0-9_-')) {
        return `${where}: is not a valid user id (use 1-64 characters from A-Z a-z 0-9 _ -)`;
      }
      return `${where}: ${issue.message}`;
    default:
      return `${where}: ${issue.message ?? issue.keyword}`;
  }
}

/** The API's error body: `{ error: { code, message } }`, with a status that says what kind of failure it was. */
export function sendError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const e = error as FastifyError & { validation?: ValidationIssue[]; validationContext?: string };
  if (e.validation) {
    const message = e.validation
      .map((issue) => describeIssue(e.validationContext ?? 'request', issue))
      .join('; ');
    void reply.status(400).send({ error: { code: 'invalid_request', message } });
    return;
  }
  if (error instanceof OppuError) {
    void reply
      .status(STATUS[error.code] ?? 400)
      .send({ error: { code: error.code, message: error.message } });
    return;
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      void reply.status(413).send({
        error: {
          code: 'body_too_large',
          message: `the request body is larger than this route accepts (${request.routeOptions.bodyLimit ?? '?'} bytes); send less at a time`,
        },
      });
      return;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      void reply.status(415).send({
        error: { code: 'unsupported_media_type', message: `${request.method} ${request.url}: ${e.message}` },
      });
      return;
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      void reply
        .status(400)
        .send({ error: { code: 'invalid_json', message: `the body is not valid JSON: ${e.message}` } });
      return;
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    void reply.status(e.statusCode).send({ error: { code: e.code ?? 'bad_request', message: e.message } });
    return;
  }
  request.log.error(error);
  void reply.status(500).send({ error: { code: 'internal', message: `internal error: ${error.message}` } });
}
