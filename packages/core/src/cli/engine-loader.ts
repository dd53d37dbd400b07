import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PeftEngine, TextRanker } from '../contracts/engine.js';
import { OppuError } from '../contracts/errors.js';
import type { PeftMethodCatalog } from '../contracts/peft-method-info.js';
import type { ProfileSummarizer } from '../contracts/profile-summarizer.js';
import type { AdapterWeights } from '../contracts/tensors.js';

/**
 * What `oppu run`, `oppu info`, `oppu generate` and `oppu export-gguf` need from `@oppu/node` (which core does
 * not depend on, to avoid a cycle).
 */
export interface EngineModule {
  createEngine(options: { baseModelDir?: string; onLog?: (line: string) => void }): Promise<PeftEngine>;
  createRanker(): TextRanker;
  createSummarizer(kind: 'extractive'): ProfileSummarizer;
  defaultBaseModelDir(): string;
  /** The registered PEFT methods (`oppu run --peft <name>`). */
  readonly peftMethods: PeftMethodCatalog;
  /** Reads a PEFT adapter folder (`adapter_config.json` + `adapter_model.safetensors`). */
  loadAdapter(dir: string): Promise<AdapterWeights>;
  /**
   * Writes the base model, or with `adapterDir` a user's LoRA adapter, as a float32 GGUF file (`oppu export-gguf`).
   */
  exportGguf(options: {
    baseModelDir?: string;
    adapterDir?: string;
    out: string;
    name?: string;
  }): Promise<{ file: string; kind: 'model' | 'adapter'; name: string; tensors: number; bytes: number }>;
  /** The stage-1 task adapter shipped beside a base model for this base, if any. */
  shippedTaskAdapter(
    engine: PeftEngine,
    task: string,
    baseModelDir?: string,
  ): Promise<AdapterWeights | undefined>;
}

/**
 * Loads `@oppu/node`: first as a neighbour of this package, then from the project the command runs in. A
 * missing engine is a clear message naming the package to install.
 */
export async function loadEngineModule(cwd = process.cwd()): Promise<EngineModule> {
  const name = '@oppu/node';
  try {
    return (await import(name)) as EngineModule;
  } catch (first) {
    if ((first as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw first;
    try {
      const resolved = createRequire(join(cwd, 'package.json')).resolve(name);
      return (await import(pathToFileURL(resolved).href)) as EngineModule;
    } catch {
      throw new OppuError(
        'engine_missing',
        `this command trains and runs models, which needs ${name} (the TensorFlow.js engine, stores and the default base model); install it with "npm install ${name}"`,
      );
    }
  }
}
