import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { OppuError } from '@oppu/core';
import { PLAYGROUND_TASKS, type PlaygroundTaskId, playgroundTask } from './server/task-info.js';

export interface PlaygroundCliOptions {
  readonly host: string;
  readonly port: number;
  /** OPPU_HOME; the playground keeps its data under `<home>/playground`. */
  readonly home: string;
  readonly tasks: readonly PlaygroundTaskId[];
  /**
   * Training steps per adapter training; absent: the recipe's epochs (`playgroundTraining`: SMALL_BASE_TRAINING on
   * the embedded model, OPPU_TRAINING on a --base-model).
   */
  readonly steps?: number;
  /**
   * OPPU stage 1: steps of the task LoRA trained on a synthetic population (not the demo users) and merged into
   * the base before serving; 0 or absent: serve the raw base model. Trained once, then cached under the home.
   */
  readonly taskSteps?: number;
  /** Adapter learning rate; absent: the recipe's (1e-2 on the embedded model, OPPU's 1e-4 on a --base-model). */
  readonly learningRate?: number;
  /** Create the demo users on first start. */
  readonly demo: boolean;
  readonly demoUsers: number;
  readonly demoItems: number;
  readonly logger: boolean;
  /** A base model folder in HF layout; default the embedded tiny model. */
  readonly baseModelDir?: string;
  /** Redis URL (OPPU_REDIS_URL or --redis): trainings go to `@oppu/queue` workers instead of this process. */
  readonly redisUrl?: string;
  /**
   * The access token (OPPU_PLAYGROUND_TOKEN or --token): required on every request when given; without it, one is
   * generated and required while the server listens beyond loopback.
   */
  readonly token?: string;
  /** Host names the Host header may carry besides localhost and the machine's addresses (OPPU_ALLOWED_HOSTS). */
  readonly allowedHosts?: readonly string[];
  /**
   * Training workers (worker threads, each holding the model), plus one that answers; 0 trains and answers on
   * the server's own thread. Default 1.
   */
  readonly workers?: number;
}

export const USAGE = `oppu playground: a web page to see personalization happen

usage: pnpm start [-- options]

  --port N         port to listen on (default: PORT or 4319; 0 picks a free one)
  --host H         address to listen on (default 127.0.0.1: this machine only; beyond loopback a token is required)
  --token T        access token, 16+ characters (default: OPPU_PLAYGROUND_TOKEN, or one generated when --host is
                   beyond loopback); the printed address carries it
  --allowed-hosts LIST  host names the server answers to besides localhost and its addresses, comma-separated
                   (default: OPPU_ALLOWED_HOSTS; .example.lan also allows its subdomains)
  --home DIR       data folder (default: OPPU_HOME or ./.oppu); the playground writes under DIR/playground
  --tasks LIST     tasks offered, comma-separated (default LaMP_2M,LaMP_7; the first is the default)
  --steps N        training steps per adapter training (default: 4 epochs of the user's items on the embedded
                   model, 2 with --base-model)
  --task-steps N   steps of the one-time task adaptation (OPPU stage 1) on a synthetic population (default 800; 0: none; the embedded model ships them)
  --lr X           adapter learning rate (default 0.01 on the embedded model, 0.0001 with --base-model)
  --no-demo        do not create the demo users on first start
  --demo-users N   demo users of the default task (default 3)
  --demo-items N   typical history size of a demo user (default 16)
  --base-model DIR a base model folder in HF layout (default: the embedded tiny model)
  --redis URL      train through @oppu/queue workers on this Redis (default: OPPU_REDIS_URL; none: train here)
  --workers N      users trained at once, each in a worker thread beside one that answers (default 1; 0: train
                   and answer on the server's thread, which then stalls while a user trains)
  --log            log every request
  --help           this text
`;

function int(value: string | undefined, fallback: number, name: string, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new OppuError(
      'invalid_option',
      `${name}: ${JSON.stringify(value)} is not an integer from ${min} to ${max}`,
    );
  }
  return n;
}

/** Options from the command line and the environment (PORT, HOST, OPPU_HOME). */
export function parseOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): PlaygroundCliOptions | 'help' {
  const { values } = parseArgs({
    // `pnpm start -- --port 8080` passes the `--` through; it separates nothing here.
    args: argv.filter((a) => a !== '--'),
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      home: { type: 'string' },
      tasks: { type: 'string' },
      steps: { type: 'string' },
      'task-steps': { type: 'string' },
      lr: { type: 'string' },
      'no-demo': { type: 'boolean' },
      'demo-users': { type: 'string' },
      'demo-items': { type: 'string' },
      log: { type: 'boolean' },
      'base-model': { type: 'string' },
      redis: { type: 'string' },
      token: { type: 'string' },
      'allowed-hosts': { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const lr = values.lr === undefined ? undefined : Number(values.lr);
  if (lr !== undefined && !(lr > 0 && lr < 1))
    throw new OppuError('invalid_option', `--lr: ${values.lr} is not a learning rate in (0, 1)`);
  const tasks = (values.tasks ?? PLAYGROUND_TASKS.join(','))
    .split(',')
    .filter(Boolean)
    .map((t) => playgroundTask(t, '--tasks'));
  if (tasks.length === 0)
    throw new OppuError('invalid_option', `--tasks: name at least one of ${PLAYGROUND_TASKS.join(', ')}`);
  const token = values.token ?? (env.OPPU_PLAYGROUND_TOKEN || undefined);
  if (token !== undefined && !/^[\x21-\x7e]{16,200}$/.test(token)) {
    throw new OppuError(
      'invalid_option',
      '--token: use 16 to 200 printable characters without spaces (or leave it out to have one generated)',
    );
  }
  const allowedHosts = (values['allowed-hosts'] ?? env.OPPU_ALLOWED_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  for (const h of allowedHosts) {
    if (!/^\.?[a-z0-9-]+(\.[a-z0-9-]+)*\.?$/.test(h)) {
      throw new OppuError('invalid_option', `--allowed-hosts: ${JSON.stringify(h)} is not a host name`);
    }
  }
  // `pnpm start` runs in apps/playground; INIT_CWD is where the user typed it.
  const cwd = env.INIT_CWD ?? process.cwd();
  const home = values.home ?? (env.OPPU_HOME ? env.OPPU_HOME : join(cwd, '.oppu'));
  return {
    host: values.host ?? env.HOST ?? '127.0.0.1',
    port: int(values.port ?? env.PORT, 4319, '--port', 0, 65535),
    home: resolve(cwd, home),
    tasks: [...new Set(tasks)],
    ...(values.steps !== undefined ? { steps: int(values.steps, 0, '--steps', 1, 100_000) } : {}),
    taskSteps: int(values['task-steps'], 800, '--task-steps', 0, 100_000),
    ...(lr !== undefined ? { learningRate: lr } : {}),
    demo: !values['no-demo'],
    demoUsers: int(values['demo-users'], 3, '--demo-users', 1, 6),
    demoItems: int(values['demo-items'], 16, '--demo-items', 2, 500),
    logger: values.log ?? false,
    ...(values['base-model'] ? { baseModelDir: resolve(cwd, values['base-model']) } : {}),
    ...((values.redis ?? env.OPPU_REDIS_URL) ? { redisUrl: values.redis ?? env.OPPU_REDIS_URL } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(allowedHosts.length ? { allowedHosts } : {}),
    ...(values.workers !== undefined ? { workers: int(values.workers, 1, '--workers', 0, 64) } : {}),
  };
}
