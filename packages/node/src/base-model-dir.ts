import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { OppuError } from '@oppu/core';

/** The embedded default base model: the HF folder shipped inside `@oppu/model-tiny`. */
export function defaultBaseModelDir(): string {
  const pkg = createRequire(import.meta.url).resolve('@oppu/model-tiny/package.json');
  return join(dirname(pkg), 'model');
}

/** Checks that `dir` holds an HF checkpoint the engine can load, with a message that says what is missing. */
export function checkBaseModelDir(dir: string, isDefault: boolean): void {
  for (const file of ['config.json', 'tokenizer.json']) {
    if (!existsSync(join(dir, file))) {
      throw new OppuError(
        'base_model_missing',
        isDefault
          ? `${join(dir, file)} is missing: the embedded base model has not been built in this checkout; run "pnpm --filter @oppu/model-tiny pretrain" or pass a base model folder`
          : `${join(dir, file)} is missing: a base model folder needs config.json, model.safetensors (or an index) and tokenizer.json`,
      );
    }
  }
}
