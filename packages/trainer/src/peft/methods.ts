import type { PeftConfig } from '@oppu/core';
import { IA3_METHOD } from './ia3/method.js';
import { LORA_METHOD } from './lora/method.js';
import { PROMPT_TUNING_METHOD } from './prompt-tuning/method.js';
import { PeftMethodRegistry } from './registry.js';

/**
 * The one list of shipped PEFT methods: a new method is a folder `peft/<method>/` (config, layer, model and a
 * `method.ts` descriptor) plus its line here. The engine, `createPeftMethod`/`peftTypeOf`, the adapter stores
 * and `oppu run --peft` read the registry built from it.
 */
export const SHIPPED_PEFT_METHODS = Object.freeze([LORA_METHOD, IA3_METHOD, PROMPT_TUNING_METHOD] as const);

/** The registered methods: the shipped ones, and any added with `peftMethods.register(descriptor)`. */
export const peftMethods = new PeftMethodRegistry(SHIPPED_PEFT_METHODS);

// The one place core's `PeftConfig` union (what users' types name) is checked against the shipped list: a config
// type missing on either side fails to compile here.
type ShippedConfig = (typeof SHIPPED_PEFT_METHODS)[number]['defaults'];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const shippedMatchesPeftConfig: Same<ShippedConfig, PeftConfig> = true;
void shippedMatchesPeftConfig;
