import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OppuError } from '@oppu/core';

/** The `redis-server` binary on PATH (or `REDIS_SERVER`), or undefined when there is none. */
export function findRedisServer(): string | undefined {
  const bin = process.env.REDIS_SERVER ?? 'redis-server';
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? bin : undefined;
}

export interface LocalRedis {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly process: ChildProcess;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject()));
    });
  });
}

/**
 * Starts a throw-away `redis-server` on a free loopback port, in a temp folder, without persistence: for tests,
 * benchmarks and trying the queue on one machine. Production runs its own Redis.
 */
export async function startLocalRedis(): Promise<LocalRedis> {
  const bin = findRedisServer();
  if (!bin) {
    throw new OppuError(
      'redis_missing',
      'redis-server was not found on PATH: install it (Debian/Ubuntu: apt-get install -y redis-server) or set REDIS_SERVER to its path',
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'oppu-redis-'));
  const port = await freePort();
  const child = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`redis-server did not start in 10 s:\n${output}`)), 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        ready();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`redis-server exited with ${code} before it was ready:\n${output}`));
    });
  });
  return {
    host: '127.0.0.1',
    port,
    process: child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
