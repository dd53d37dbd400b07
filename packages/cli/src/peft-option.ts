import type { PeftConfig, PeftMethodCatalog } from '@oppu/core';
import { CliUsageError } from './command.js';

/**
 * The config of `--peft <name>`: the registered method's defaults (`lora` when the option is not given). The
 * methods come from the engine's registry, so a method registered there is a `--peft` value without a change here.
 */
export function peftOption(
  value: string | undefined,
  methods: PeftMethodCatalog,
  flag = '--peft',
): PeftConfig {
  const name = value ?? 'lora';
  const method = methods.get(name);
  if (!method) {
    const names = methods.list().map((m) => m.name);
    const choices =
      names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names.join('');
    throw new CliUsageError(`${flag} must be ${choices}, got "${name}"`);
  }
  // A method registered at run time has a config of its own; the pipeline passes it through to the engine.
  return method.defaults as PeftConfig;
}
