#!/usr/bin/env node
/**
 * The `oppu` command line. Each command is a module in `./commands/` whose default export is a CliCommand;
 * the list is read from that folder, so a new command is a new file.
 *
 * From source: `pnpm --filter @oppu/core oppu <command> ...` (paths resolve against where you ran pnpm).
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OppuError } from '../contracts/errors.js';
import {
  type CliCommand,
  type CliContext,
  CliUsageError,
  helpText,
  parseCommandArgs,
  resolveFrom,
} from './command.js';

const COMMANDS_DIR = fileURLToPath(new URL('./commands/', import.meta.url));

/** Loads every command module in ./commands (`.ts` from source, `.js` when built). */
export async function loadCommands(): Promise<Map<string, CliCommand>> {
  const files = (await readdir(COMMANDS_DIR))
    .filter((f) => /\.(js|ts)$/.test(f) && !/\.(test|d)\.(js|ts)$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
  const commands = new Map<string, CliCommand>();
  for (const f of files) {
    const mod = (await import(pathToFileURL(`${COMMANDS_DIR}${f}`).href)) as { default?: CliCommand };
    if (mod.default?.name && typeof mod.default.run === 'function')
      commands.set(mod.default.name, mod.default);
  }
  return commands;
}

function overview(commands: Map<string, CliCommand>): string {
  const lines = ['usage: oppu <command> [options]', '', 'Commands:'];
  for (const c of commands.values()) lines.push(`  ${c.name.padEnd(10)} ${c.summary}`);
  lines.push('', 'Run `oppu <command> --help` for its options.');
  return lines.join('\n');
}

/** Runs the CLI; returns the exit code (0 ok, 1 error, 2 usage). */
export async function main(
  argv: readonly string[],
  io = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const commands = await loadCommands();
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${overview(commands)}\n`);
    return name ? 0 : 2;
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
      // Under `pnpm --filter @oppu/core oppu`, pnpm runs us in packages/core; INIT_CWD is where the user was.
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
      io.stderr.write(`oppu ${name}: ${error.message}\nRun \`oppu ${name} --help\` for the options.\n`);
      return 2;
    }
    if (error instanceof OppuError) {
      io.stderr.write(`oppu ${name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

const invokedDirectly =
  process.argv[1] &&
  fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1]);
if (invokedDirectly) {
  process.exitCode = await main(process.argv.slice(2));
}
