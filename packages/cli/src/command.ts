import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { OppuError } from '@oppu/core';

type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & {
  readonly description: string;
  readonly placeholder?: string;
};

/** One `oppu <name>` command. A new command is a new file in `commands/` whose default export is a CliCommand. */
export interface CliCommand {
  readonly name: string;
  readonly summary: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Options that must be given. */
  readonly required?: readonly string[];
  /** Example lines for --help. */
  readonly examples?: readonly string[];
  run(values: Readonly<Record<string, string | boolean | undefined>>, context: CliContext): Promise<void>;
}

export interface CliContext {
  /** Writes one line to stdout (results). */
  out(line: string): void;
  /** Writes one line to stderr (notes), unless --quiet. */
  note(line: string): void;
  readonly quiet: boolean;
  /** Resolves a user-given path against the directory the user ran the command from. */
  path(p: string): string;
  readonly signal: AbortSignal;
  readonly stderr: NodeJS.WriteStream;
}

/** A mistake in how the command was called (exit code 2, with a pointer to --help). */
export class CliUsageError extends OppuError {
  constructor(message: string) {
    super('cli_usage', message);
    this.name = 'CliUsageError';
  }
}

export const QUIET_OPTION: OptionSpec = {
  type: 'boolean',
  short: 'q',
  description: 'no progress bars or notes on stderr',
};
export const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

export function parseCommandArgs(
  command: CliCommand,
  argv: readonly string[],
): Record<string, string | boolean | undefined> {
  const options = { ...command.options, quiet: QUIET_OPTION, help: HELP_OPTION };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: options as ParseArgsConfig['options'],
      strict: true,
      allowPositionals: false,
    }) as {
      values: Record<string, string | boolean | undefined>;
    });
  } catch (cause) {
    // node's messages name the option ("Unknown option '--user'"); keep them, add where to look.
    throw new CliUsageError((cause as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (values.help) return values;
  const missing = (command.required ?? []).filter((name) => values[name] === undefined);
  if (missing.length) {
    throw new CliUsageError(`missing ${missing.map((m) => `--${m}`).join(', ')}`);
  }
  return values;
}

export function helpText(command: CliCommand): string {
  const lines = [`oppu ${command.name}: ${command.summary}`, '', 'Options:'];
  const all = { ...command.options, quiet: QUIET_OPTION, help: HELP_OPTION };
  for (const [name, spec] of Object.entries(all)) {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` <${spec.placeholder ?? name}>` : ''}`;
    const req = command.required?.includes(name) ? ' (required)' : '';
    lines.push(`  ${flag.padEnd(30)} ${spec.description}${req}`);
  }
  if (command.examples?.length) lines.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** An integer option: `--users 20`; anything else is a usage error naming the option. */
export function intOption(values: Readonly<Record<string, unknown>>, name: string, min: number): number {
  const raw = values[name];
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw.trim()) || Number(raw) < min) {
    throw new CliUsageError(`--${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  }
  return Number(raw);
}

/** Runs a check of an option's value; its OppuError (e.g. an unknown task) becomes a usage error (exit code 2). */
export function optionValue<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof OppuError && !(error instanceof CliUsageError))
      throw new CliUsageError(error.message);
    throw error;
  }
}

export function stringOption(values: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' ? raw : undefined;
}

export function resolveFrom(cwd: string): (p: string) => string {
  return (p) => resolve(cwd, p);
}
