import { OppuError } from '@oppu/core';
import type { ModuleName } from '../model/hooks.js';

/** The sizes a PEFT method needs to know about the decoder it attaches to (HF config names, camelCased). */
export interface PeftModelDims {
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numAttentionHeads: number;
  readonly numKeyValueHeads: number;
  /** Defaults to hiddenSize / numAttentionHeads. */
  readonly headDim?: number;
  readonly vocabSize?: number;
}

export const MODULE_NAMES: readonly ModuleName[] = Object.freeze([
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
]);

export function isModuleName(name: string): name is ModuleName {
  return (MODULE_NAMES as readonly string[]).includes(name);
}

/** Checks a config's module list against the decoder's projections. */
export function checkModules(names: readonly string[], where: string): ModuleName[] {
  if (names.length === 0) throw new OppuError('invalid_peft_config', `${where}: the module list is empty`);
  for (const n of names) {
    if (!isModuleName(n))
      throw new OppuError(
        'invalid_peft_config',
        `${where}: "${n}" is not a projection of the decoder (use ${MODULE_NAMES.join(', ')})`,
      );
  }
  return [...new Set(names as ModuleName[])].sort(
    (a, b) => MODULE_NAMES.indexOf(a) - MODULE_NAMES.indexOf(b),
  );
}

/** [in, out] of one projection; weights are stored [in, out] (x · W), as `BaseWeights` gives them. */
export function moduleShape(dims: PeftModelDims, module: ModuleName): [number, number] {
  const headDim = dims.headDim ?? dims.hiddenSize / dims.numAttentionHeads;
  const q = dims.numAttentionHeads * headDim;
  const kv = dims.numKeyValueHeads * headDim;
  switch (module) {
    case 'q_proj':
      return [dims.hiddenSize, q];
    case 'k_proj':
    case 'v_proj':
      return [dims.hiddenSize, kv];
    case 'o_proj':
      return [q, dims.hiddenSize];
    case 'gate_proj':
    case 'up_proj':
      return [dims.hiddenSize, dims.intermediateSize];
    case 'down_proj':
      return [dims.intermediateSize, dims.hiddenSize];
  }
}

/** PEFT's module path for a projection: `base_model.model.model.layers.3.self_attn.q_proj`. */
export function peftModulePath(layer: number, module: ModuleName): string {
  const block =
    module === 'gate_proj' || module === 'up_proj' || module === 'down_proj' ? 'mlp' : 'self_attn';
  return `base_model.model.model.layers.${layer}.${block}.${module}`;
}

export function checkDims(dims: PeftModelDims): void {
  for (const k of [
    'numLayers',
    'hiddenSize',
    'intermediateSize',
    'numAttentionHeads',
    'numKeyValueHeads',
  ] as const) {
    if (!Number.isSafeInteger(dims[k]) || dims[k] <= 0)
      throw new OppuError(
        'invalid_model_dims',
        `model dims: ${k} must be a positive integer, got ${dims[k]}`,
      );
  }
}
