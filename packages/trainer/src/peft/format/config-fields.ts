import { OppuError } from '@oppu/core';
import type { AdapterBaseInfo } from '../peft-method.js';

/** The fields every PEFT config writes (`PeftConfig` in peft/config.py). */
export function basePeftFields(peftType: string, base: AdapterBaseInfo = {}): Record<string, unknown> {
  return {
    auto_mapping: null,
    base_model_name_or_path: base.baseModelNameOrPath ?? null,
    inference_mode: true,
    peft_type: peftType,
    revision: base.revision ?? null,
    task_type: 'CAUSAL_LM',
  };
}

/** JSON with sorted keys and 2-space indent, as PEFT's `save_pretrained` writes (`sort_keys=True, indent=2`). */
export function peftJson(config: Readonly<Record<string, unknown>>): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return JSON.stringify(sort(config), null, 2);
}

/** Reads fields of a parsed adapter_config.json with errors that name the file and field. */
export class ConfigReader {
  constructor(
    readonly json: Readonly<Record<string, unknown>>,
    readonly where: string,
  ) {}

  private fail(field: string, what: string): never {
    throw new OppuError('invalid_adapter_config', `${this.where}: "${field}" ${what}`);
  }

  number(field: string, fallback?: number): number {
    const v = this.json[field];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      this.fail(field, 'is missing');
    }
    if (typeof v !== 'number' || !Number.isFinite(v))
      this.fail(field, `must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(field: string, fallback: boolean): boolean {
    const v = this.json[field];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  string(field: string): string | undefined {
    const v = this.json[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(field, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A module list; PEFT also allows a regex string, which we refuse (we need the exact names). */
  modules(field: string, required: boolean): string[] {
    const v = this.json[field];
    if (v === undefined || v === null) {
      if (required) this.fail(field, 'is missing');
      return [];
    }
    if (typeof v === 'string')
      this.fail(
        field,
        `is a regular expression (${JSON.stringify(v)}); only a list of module names is supported`,
      );
    if (!Array.isArray(v) || !v.every((m) => typeof m === 'string'))
      this.fail(field, `must be a list of module names, got ${JSON.stringify(v)}`);
    return v as string[];
  }

  /** Fails if a field is set to something other than its neutral value (a feature we do not implement). */
  unsupported(field: string, ok: (v: unknown) => boolean, hint: string): void {
    const v = this.json[field];
    if (v !== undefined && !ok(v)) this.fail(field, `= ${JSON.stringify(v)} is not supported (${hint})`);
  }
}

export const isNullish = (v: unknown) => v === null || v === undefined;
export const isFalse = (v: unknown) => v === false || v === null;
export const isEmpty = (v: unknown) =>
  v === null || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);
