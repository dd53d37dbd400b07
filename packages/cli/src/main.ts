#!/usr/bin/env node
/**
 * The `oppu` command line. Each command is a module in `./commands/` whose default export is a CliCommand;
 * the list is read from that folder, so a new command is a new file.
 *
 * From source: `pnpm oppu <command> ...` at the repository root, or `pnpm --filter @oppu/cli oppu <command> ...`
 * (paths resolve against where you ran pnpm).
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OppuError } from '@oppu/core';
import {
  type CliCommand,
  type CliContext,
  CliUsageError,
  helpText,
  parseCommandArgs,
  resolveFrom,
} from './command.js';

const COMMANDS_DIR = fileURLToPath(new URL('./commands/', import.meta.url));

/** The command modules in ./commands (`.ts` from source, `.js` when built). */
async function commandFiles(): Promise<string[]> {
  return (await readdir(COMMANDS_DIR))
    .filter((f) => /\.(js|ts)$/.test(f) && !/\.(test|d)\.(js|ts)$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
}

async function importCommand(file: string): Promise<CliCommand | undefined> {
  const mod = (await import(pathToFileURL(`${COMMANDS_DIR}${file}`).href)) as { default?: CliCommand };
  return mod.default?.name && typeof mod.default.run === 'function' ? mod.default : undefined;
}

/** Loads every command module in ./commands. */
export async function loadCommands(): Promise<Map<string, CliCommand>> {
  const commands = new Map<string, CliCommand>();
  for (const f of await commandFiles()) {
    const command = await importCommand(f);
    if (command) commands.set(command.name, command);
  }
  return commands;
}

/**
 * The command `name` alone when its module is `commands/<name>.(ts|js)`, so `oppu score` does not load the engine
 * (`@oppu/node`, which `oppu run` imports); every command otherwise (the overview and the messages list them).
 */
async function loadCommandsFor(name: string | undefined): Promise<Map<string, CliCommand>> {
  const files = await commandFiles();
  const file = name && files.find((f) => f === `${name}.ts` || f === `${name}.js`);
  const command = file ? await importCommand(file) : undefined;
  return command && command.name === name ? new Map([[name, command]]) : loadCommands();
}

function overview(commands: Map<string, CliCommand>): string {
  const lines = ['usage: oppu <command> [options]', '', 'Commands:'];
  for (const c of commands.values()) lines.push(`  ${c.name.padEnd(10)} ${c.summary}`);
  lines.push('', 'Run `oppu <command> --help` for its options.');
  return lines.join('\n');
}

/** Node's file-system error codes, as a user would say them. */
const FS_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a folder, where a file was expected',
  ENOTDIR: 'a part of the path is a file, where a folder was expected',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
};

/**
 * One line for any failure: an OppuError's message as it is; a file-system error as `path: what went wrong`;
 * anything else (a bug, or the runtime giving up) by its message, with how to get the stack trace.
 */
export function describeFailure(error: unknown): string {
  const oneLine = (s: string) => s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  if (error instanceof OppuError) return oneLine(error.message);
  const e = error as Partial<NodeJS.ErrnoException> | undefined;
  if (e && typeof e.code === 'string' && FS_ERRORS[e.code] && typeof e.syscall === 'string') {
    return oneLine(`${e.path ? `${e.path}: ` : ''}${FS_ERRORS[e.code]} (${e.syscall})`);
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `${oneLine(message)} (an internal error; run with OPPU_DEBUG=1 for the stack trace)`;
}

function debugStack(error: unknown, stderr: { write(s: string): unknown }): void {
  if (process.env.OPPU_DEBUG && error instanceof Error && error.stack) stderr.write(`${error.stack}\n`);
}

/**
 * Runs the CLI; returns the exit code: 0 ok, 1 a failure while working, 2 a mistake in the arguments. Every
 * failure is one line on stderr (`OPPU_DEBUG=1` adds the stack trace of unexpected ones).
 */
export async function main(
  argv: readonly string[],
  io = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const [name, ...rest] = argv;
  let commands: Map<string, CliCommand>;
  try {
    commands = await loadCommandsFor(name);
  } catch (error) {
    io.stderr.write(`oppu: ${describeFailure(error)}\n`);
    debugStack(error, io.stderr);
    return 1;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${overview(commands)}\n`);
    return 0;
  }
  if (!name) {
    io.stderr.write(
      `oppu: no command given; commands: ${[...commands.keys()].join(', ')} (run \`oppu --help\` for more)\n`,
    );
    return 2;
  }
  const command = commands.get(name);
  if (!command) {
    io.stderr.write(`oppu: unknown command "${name}"; commands: ${[...commands.keys()].join(', ')}\n`);
    return 2;
  }
  const abort = new AbortController();
  const onSigint = () => abort.abort(new OppuError('aborted', 'interrupted'));
  process.once('SIGINT', onSigint);
  try {
    const values = parseCommandArgs(command, rest);
    if (values.help) {
      io.stdout.write(`${helpText(command)}\n`);
      return 0;
    }
    const quiet = values.quiet === true;
    const context: CliContext = {
      out: (line) => io.stdout.write(`${line}\n`),
      note: (line) => {
        if (!quiet) io.stderr.write(`${line}\n`);
      },
      quiet,
      // Under `pnpm oppu` (or `pnpm --filter @oppu/cli oppu`), pnpm runs us in the root (or packages/cli); INIT_CWD
      // is where the user was.
      path: resolveFrom(
        process.env.npm_lifecycle_event === 'oppu' && process.env.INIT_CWD
          ? process.env.INIT_CWD
          : process.cwd(),
      ),
      signal: abort.signal,
      stderr: io.stderr,
    };
    await command.run(values, context);
    return 0;
  } catch (error) {
    if (error instanceof CliUsageError) {
      io.stderr.write(
        `oppu ${name}: ${describeFailure(error)} (run \`oppu ${name} --help\` for the options)\n`,
      );
      return 2;
    }
    io.stderr.write(`oppu ${name}: ${describeFailure(error)}\n`);
    if (!(error instanceof OppuError)) debugStack(error, io.stderr);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

const invokedDirectly =
  process.argv[1] &&
  fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1]);
if (invokedDirectly) {
  // A failure outside the awaited work (a stream's error event, a stray rejection) is one line too.
  const fatal = (error: unknown) => {
    process.stderr.write(`oppu: ${describeFailure(error)}\n`);
    debugStack(error, process.stderr);
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  process.exitCode = await main(process.argv.slice(2));
}
