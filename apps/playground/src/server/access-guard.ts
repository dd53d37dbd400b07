import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { OppuError } from '@oppu/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Who may talk to the playground. The server holds every user's data and has no login, so by default only its
 * owner reaches it:
 *
 * - **Host check** (421 `host_not_allowed`): a DNS-rebinding page (evil.example resolving to 127.0.0.1) reaches
 *   the port, but its requests carry `Host: evil.example`. Allowed: `localhost`, `*.localhost` and loopback
 *   addresses; when listening beyond loopback also IP addresses, the machine's name and the listen host; and the
 *   names in `allowedHosts`.
 * - **Origin check** (403 `origin_not_allowed`): a request a page sends names that page's origin, which must be
 *   this server (same host and port); `Origin: null` is refused. API requests that a browser marks cross-site or
 *   same-site (`Sec-Fetch-Site`, e.g. another local port) are refused too.
 * - **Token** (401 `token_required`): while the server listens beyond loopback (or when a token is given), every
 *   request must carry it: `Authorization: Bearer <token>`, `?token=<token>`, or the cookie the page gets when it
 *   is opened with `?token=`. Opening the page with the token sets an HttpOnly, SameSite=Strict cookie and
 *   redirects to the address without it, so the page's own requests (fetch, EventSource, downloads) carry it.
 */
export interface AccessOptions {
  /**
   * Host names the Host header may carry besides the defaults: `box.lan`, or `.box.lan` for it and every
   * subdomain.
   */
  readonly allowedHosts?: readonly string[];
  /**
   * The access token. Given: required on every request, loopback or not. Absent: one is generated (read it with
   * `accessToken(app)`) and required only while the server listens beyond loopback.
   */
  readonly token?: string;
}

export const TOKEN_COOKIE = 'oppu_playground_token';

interface Guard {
  readonly token: string;
  readonly explicit: boolean;
}
const guards = new WeakMap<FastifyInstance, Guard>();

/** The token the server accepts (given, or generated at creation). */
export function accessToken(app: FastifyInstance): string {
  const guard = guards.get(app);
  if (!guard)
    throw new OppuError('no_access_guard', 'this server has no access guard (see installAccessGuard)');
  return guard.token;
}

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x: addresses only this machine can reach. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** Whether a `--host` value keeps the server on loopback (`localhost` resolves to loopback only). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || isLoopbackAddress(h);
}

/** The name in a Host header, lowercased, without the port or a trailing dot; undefined when malformed. */
export function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const h = header.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h) ?? /^([a-z0-9._-]+)(?::\d{1,5})?$/.exec(h);
  if (!m) return undefined;
  return m[1]!.replace(/\.$/, '');
}

/** Where the server listens: undefined before `listen` (as under `inject()`, which only this process can use). */
function listenAddress(app: FastifyInstance): string | undefined {
  const address = app.server.listening ? app.server.address() : null;
  return address && typeof address === 'object' ? address.address : undefined;
}

function hostAllowed(name: string, allowed: readonly string[], beyondLoopback: boolean): boolean {
  if (name === 'localhost' || name.endsWith('.localhost') || isLoopbackAddress(name)) return true;
  for (const a of allowed) {
    if (a.startsWith('.') ? name === a.slice(1) || name.endsWith(a) : name === a) return true;
  }
  if (!beyondLoopback) return false;
  // Reached from the network: an address typed as such cannot be rebound; nor can the machine's own name.
  return isIP(name) !== 0 || name === osHostname().toLowerCase();
}

const digest = (s: string) => createHash('sha256').update(s).digest();
function sameToken(given: string | undefined, expected: Buffer): boolean {
  return given !== undefined && timingSafeEqual(digest(given), expected);
}

function cookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** The request's URL without its `token` parameter (where the page redirects after setting the cookie). */
function withoutToken(url: string): string {
  const parsed = new URL(url, 'http://x');
  parsed.searchParams.delete('token');
  return `${parsed.pathname}${parsed.search}`;
}

/**
 * Adds the Host, Origin and token checks to every request (before routing, parsing or any handler), and
 * `Referrer-Policy: no-referrer` to every reply. Refusals throw OppuErrors, so they reach the client in the
 * API's one error shape.
 */
export function installAccessGuard(app: FastifyInstance, options: AccessOptions = {}): void {
  const explicit = options.token !== undefined;
  if (explicit && options.token!.length < 16) {
    throw new OppuError('invalid_option', 'the access token must be at least 16 characters long');
  }
  const token = options.token ?? randomBytes(24).toString('base64url');
  guards.set(app, { token, explicit });
  const expected = digest(token);
  const allowed = (options.allowedHosts ?? []).map((h) => h.trim().toLowerCase()).filter(Boolean);

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const bound = listenAddress(app);
    const beyondLoopback = bound !== undefined && !isLoopbackAddress(bound);
    const hostHeader = request.headers.host;
    const name = hostName(hostHeader);
    if (!name || !hostAllowed(name, allowed, beyondLoopback)) {
      throw new OppuError(
        'host_not_allowed',
        `Host ${JSON.stringify((hostHeader ?? '').slice(0, 100))} is not allowed: this playground answers to localhost and its own addresses${allowed.length ? ` and ${allowed.join(', ')}` : ''} (start it with --allowed-hosts to add a name)`,
      );
    }
    const origin = request.headers.origin;
    if (origin !== undefined) {
      let originHost: string | undefined;
      try {
        const url = new URL(origin);
        if (url.protocol === 'http:' || url.protocol === 'https:') originHost = url.host;
      } catch {}
      if (originHost === undefined || originHost !== new URL(`http://${hostHeader}`).host) {
        throw new OppuError(
          'origin_not_allowed',
          `Origin ${JSON.stringify(origin.slice(0, 100))} is not allowed: only the playground's own page may send requests to it`,
        );
      }
    }
    const site = request.headers['sec-fetch-site'];
    if (request.url.startsWith('/api/') && (site === 'cross-site' || site === 'same-site')) {
      throw new OppuError(
        'origin_not_allowed',
        `a ${site} request to the API is not allowed: only the playground's own page may send requests to it`,
      );
    }
    if (!explicit && !beyondLoopback) return;
    const auth = request.headers.authorization;
    const bearer = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
    const query = (request.query as Record<string, unknown> | undefined)?.token;
    const fromQuery = typeof query === 'string' ? query : undefined;
    if (sameToken(bearer, expected) || sameToken(cookie(request, TOKEN_COOKIE), expected)) return;
    if (sameToken(fromQuery, expected)) {
      // The page opened with ?token=: keep it in a cookie and take it out of the address bar and history.
      if (request.method === 'GET' && !request.url.startsWith('/api/')) {
        return reply
          .header(
            'set-cookie',
            `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`,
          )
          .redirect(withoutToken(request.url), 303);
      }
      return;
    }
    reply.header('www-authenticate', 'Bearer realm="oppu playground"');
    throw new OppuError(
      'token_required',
      'this playground needs its access token: open the address it printed at start (it ends in ?token=...), or send "Authorization: Bearer <token>"',
    );
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('referrer-policy', 'no-referrer');
  });
}
