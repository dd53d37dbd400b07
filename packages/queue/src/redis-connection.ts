import { OppuError } from '@oppu/core';

/** `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS) as ioredis connection options. */
export function redisConnection(url: string): {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: Record<string, never>;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OppuError(
      'invalid_option',
      `redis URL ${JSON.stringify(url)} is not a URL; write redis://host:port (e.g. redis://127.0.0.1:6379)`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new OppuError(
      'invalid_option',
      `redis URL ${JSON.stringify(url)}: the scheme must be redis:// or rediss://, not ${parsed.protocol}//`,
    );
  }
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) {
    throw new OppuError(
      'invalid_option',
      `redis URL ${JSON.stringify(url)}: database "${db}" is not a number`,
    );
  }
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db !== '' ? { db: Number(db) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
