/** What every PEFT config has: the name of the method it configures (`lora`, `ia3`, `prompt`, or a registered one). */
export interface PeftConfigBase {
  readonly method: string;
}

/**
 * A PEFT method as a command line, a store or a form sees it, without tensors. Each method's folder in
 * `@oppu/trainer` (`peft/<method>/method.ts`) exports a descriptor that extends this with how to create, load and
 * batch the method, and the trainer's registry lists them; `PeftConfig` names the shipped ones for users' types.
 */
export interface PeftMethodInfoV1<C extends PeftConfigBase = PeftConfigBase> {
  /** The `method` of its configs and the `--peft` value of the command line, e.g. `lora`. */
  readonly name: C['method'];
  /** The `peft_type` HF PEFT writes in `adapter_config.json`, e.g. `LORA`. */
  readonly peftType: string;
  /** One line for help texts. */
  readonly summary: string;
  /** The config used when a user names only the method (`oppu run --peft ia3`). */
  readonly defaults: C;
  /** Whether requests with different adapters of this method can share one forward pass. */
  readonly multiAdapterBatching: boolean;
  /** Checks a config a user set and returns it normalised; errors name `where` and the field. */
  validateConfig(config: C, where?: string): C;
  /** The config of a parsed `adapter_config.json`; fields the method does not implement are refused by name. */
  readConfig(json: Readonly<Record<string, unknown>>, where: string): C;
}

/** The registered PEFT methods, by name (`PeftMethodRegistry` in `@oppu/trainer` is the one list). */
export interface PeftMethodCatalogV1 {
  list(): readonly PeftMethodInfoV1[];
  get(name: string): PeftMethodInfoV1 | undefined;
}

/** `PeftMethodInfoV1` under its unversioned name (the current version). */
export type PeftMethodInfo<C extends PeftConfigBase = PeftConfigBase> = PeftMethodInfoV1<C>;

/** `PeftMethodCatalogV1` under its unversioned name (the current version). */
export type PeftMethodCatalog = PeftMethodCatalogV1;
