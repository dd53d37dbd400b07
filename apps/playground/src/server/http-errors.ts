import { readdirSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
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
  token_required: 401,
  origin_not_allowed: 403,
  host_not_allowed: 421,
};

/** The folders at the root of this machine (`home`, `tmp`, `srv`, ...): a path under one of them is a server path. */
const ROOT_FOLDERS = (() => {
  try {
    return new Set(
      readdirSync('/', { withFileTypes: true })
        .filter((e) => e.isDirectory() || e.isSymbolicLink())
        .map((e) => e.name),
    );
  } catch {
    return new Set<string>();
  }
})();
const FILE_URL = /file:\/\/[^\s'"`)]+/g;
const WINDOWS_PATH = /(?<![\w])[A-Za-z]:\\[^\s'"`)]+/g;
const POSIX_PATH = /(?<![\w.:/~-])\/([^\s/'"`()]+)(?:\/[^\s/'"`()]+)*\/?/g;

/** `…/v0001/adapter_config.json`: the last two parts of a path, enough to say which file without where it lives. */
function tail(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts.length <= 2 ? `…/${parts.join('/')}` : `…/${parts.slice(-2).join('/')}`;
}

/**
 * A message as a client may see it: absolute paths of this machine (`/home/me/.oppu/playground/...`,
 * `C:\\Users\\...`, `file:///...`) shortened to their last two parts, so no reply tells where data lives. URL paths
 * (`/api/users/x`) are kept: only paths under a folder at the root of this machine count.
 */
export function publicMessage(message: string): string {
  return message
    .replace(FILE_URL, (m) => tail(m.replace(/^file:\/\/\/?/, '')))
    .replace(WINDOWS_PATH, tail)
    .replace(POSIX_PATH, (m, first: string) => (ROOT_FOLDERS.has(first) ? tail(m) : m));
}

/**
 * Replies to a request Node's HTTP parser refused (headers over 16 KiB, a malformed request, a timeout) in the
 * API's error shape; Fastify's default writes another shape.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', 'the request line and headers are larger than 16 KiB; send a shorter URL']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'the request took too long to arrive']
        : [400, 'bad_request', 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

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
      .send({ error: { code: error.code, message: publicMessage(error.message) } });
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
    case 'FST_ERR_MAX_PARAM_LENGTH':
      void reply.status(414).send({
        error: {
          code: 'url_too_long',
          message: 'a part of the URL is longer than 100 characters (user ids have at most 64)',
        },
      });
      return;
    case 'FST_ERR_BAD_URL':
      void reply.status(400).send({
        error: { code: 'invalid_url', message: 'the URL has a malformed %-escape' },
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
    // Fastify's own codes (FST_ERR_...) are not ours; the status says the kind.
    const code = typeof e.code === 'string' && /^[a-z_]+$/.test(e.code) ? e.code : 'bad_request';
    void reply.status(e.statusCode).send({ error: { code, message: publicMessage(e.message) } });
    return;
  }
  request.log.error(error);
  void reply
    .status(500)
    .send({ error: { code: 'internal', message: `internal error: ${publicMessage(error.message)}` } });
}
