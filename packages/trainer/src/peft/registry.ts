import { type AdapterWeights, OppuError, type PeftConfigBase, type PeftMethodCatalog } from '@oppu/core';
import type { PeftMethodDescriptor } from './peft-method.js';

/**
 * A method's descriptor, frozen, with its functions typed from `C` (what each method's `method.ts` exports, and
 * what a user's own method passes to `peftMethods.register`).
 */
export function definePeftMethod<C extends PeftConfigBase>(
  descriptor: PeftMethodDescriptor<C>,
): PeftMethodDescriptor<C> {
  return Object.freeze({ ...descriptor });
}

const NAME = /^[a-z][a-z0-9-]{0,31}$/;
const PEFT_TYPE = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * The PEFT methods the trainer knows, by name (`lora`) and by HF's `peft_type` (`LORA`). `peftMethods`
 * (peft/methods.ts) holds the shipped ones; `register` adds one at run time (a user's own method, a test's).
 */
export class PeftMethodRegistry implements PeftMethodCatalog {
  private readonly byName = new Map<string, PeftMethodDescriptor>();
  private readonly byType = new Map<string, PeftMethodDescriptor>();

  constructor(methods: readonly PeftMethodDescriptor[] = []) {
    for (const m of methods) this.register(m);
  }

  /**
   * Adds a method; returns a function that removes it again. A name or `peft_type` already registered, or one
   * that is not a plain identifier (`lora`, `LORA`), is refused.
   */
  register<C extends PeftConfigBase>(method: PeftMethodDescriptor<C>): () => void {
    const where = `PEFT method registry: method ${JSON.stringify(method.name)}`;
    if (typeof method.name !== 'string' || !NAME.test(method.name))
      throw new OppuError(
        'invalid_peft_method',
        `${where}: name must be lower-case letters, digits and "-", starting with a letter`,
      );
    if (typeof method.peftType !== 'string' || !PEFT_TYPE.test(method.peftType))
      throw new OppuError(
        'invalid_peft_method',
        `${where}: peftType ${JSON.stringify(method.peftType)} must be upper-case letters, digits and "_", as HF PEFT writes it (e.g. LORA)`,
      );
    if (method.defaults?.method !== method.name)
      throw new OppuError(
        'invalid_peft_method',
        `${where}: defaults.method is ${JSON.stringify(method.defaults?.method)}, expected ${JSON.stringify(method.name)}`,
      );
    if (method.multiAdapterBatching !== (typeof method.batchAdapter === 'function'))
      throw new OppuError(
        'invalid_peft_method',
        `${where}: multiAdapterBatching is ${method.multiAdapterBatching} but batchAdapter is ${method.batchAdapter ? 'given' : 'missing'}; set both or neither`,
      );
    if (this.byName.has(method.name))
      throw new OppuError(
        'invalid_peft_method',
        `${where}: name ${JSON.stringify(method.name)} is already registered (unregister it first)`,
      );
    const taken = this.byType.get(method.peftType);
    if (taken)
      throw new OppuError(
        'invalid_peft_method',
        `${where}: peftType ${method.peftType} is already registered by ${JSON.stringify(taken.name)}`,
      );
    const entry = method as unknown as PeftMethodDescriptor;
    this.byName.set(method.name, entry);
    this.byType.set(method.peftType, entry);
    return () => {
      if (this.byName.get(method.name) !== entry) return;
      this.byName.delete(method.name);
      this.byType.delete(method.peftType);
    };
  }

  list(): readonly PeftMethodDescriptor[] {
    return [...this.byName.values()];
  }

  get(name: string): PeftMethodDescriptor | undefined {
    return this.byName.get(name);
  }

  /** The method of a config (`config.method`); an unknown one is an error listing the registered names. */
  forConfig(config: PeftConfigBase, where = 'PEFT config'): PeftMethodDescriptor {
    const m = this.byName.get((config as { method?: unknown })?.method as string);
    if (m) return m;
    throw new OppuError(
      'invalid_peft_config',
      `${where}: unknown PEFT method ${JSON.stringify((config as { method?: unknown })?.method)} (use ${this.names().join(', ')})`,
    );
  }

  /** The method an adapter's `adapter_config.json` names by `peft_type`. */
  forWeights(weights: AdapterWeights, where = 'adapter'): PeftMethodDescriptor {
    const t = weights.config.peft_type;
    const m = typeof t === 'string' ? this.byType.get(t) : undefined;
    if (m) return m;
    throw new OppuError(
      'invalid_adapter_config',
      `${where}: adapter_config.json: peft_type ${JSON.stringify(t)} is not supported (${[...this.byType.keys()].join(', ')})`,
    );
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}
