import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HostTensor, writeDirAtomicSync } from '@oppu/core';
import { readSafetensors, writeSafetensors } from '@oppu/trainer';

/** What a checkpoint holds besides tensors. */
export interface CheckpointState {
  readonly recipeHash: string;
  readonly step: number;
  readonly rngState: number;
  readonly trainSeconds: number;
  readonly history: readonly HistoryPoint[];
}

export interface HistoryPoint {
  readonly step: number;
  readonly trainLoss: number;
  readonly valLoss?: number;
  readonly lr: number;
  readonly seconds: number;
}

export interface Checkpoint {
  readonly state: CheckpointState;
  readonly params: Map<string, Float32Array>;
  readonly m: Map<string, Float32Array>;
  readonly v: Map<string, Float32Array>;
}

/**
 * Writes a checkpoint folder (params, AdamW moments, state) atomically with core's `writeDirAtomicSync`, so an
 * interrupted save leaves the previous checkpoint intact.
 */
export function saveCheckpoint(
  dir: string,
  checkpoint: Checkpoint,
  shapes: ReadonlyMap<string, readonly number[]>,
): void {
  // Tensors are stored under their parameter name plus a suffix ('' for weights, '.m'/'.v' for the moments).
  const pack = (groups: [Map<string, Float32Array>, string][]) => {
    const tensors = new Map<string, HostTensor>();
    for (const [arrays, suffix] of groups) {
      for (const [name, data] of arrays) {
        tensors.set(name + suffix, { dtype: 'float32', shape: [...shapes.get(name)!], data });
      }
    }
    return writeSafetensors(tensors);
  };
  writeDirAtomicSync(dir, {
    'params.safetensors': pack([[checkpoint.params, '']]),
    'adam.safetensors': pack([
      [checkpoint.m, '.m'],
      [checkpoint.v, '.v'],
    ]),
    'state.json': JSON.stringify(checkpoint.state),
  });
}

/** Reads a checkpoint folder, or undefined when there is none. */
export function loadCheckpoint(dir: string): Checkpoint | undefined {
  if (!existsSync(join(dir, 'state.json'))) return undefined;
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as CheckpointState;
  const read = (file: string) =>
    readSafetensors(new Uint8Array(readFileSync(join(dir, file))), { file }).tensors;
  const params = new Map<string, Float32Array>();
  for (const [name, t] of read('params.safetensors')) params.set(name, t.data as Float32Array);
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const [name, t] of read('adam.safetensors')) {
    if (name.endsWith('.m')) m.set(name.slice(0, -2), t.data as Float32Array);
    else if (name.endsWith('.v')) v.set(name.slice(0, -2), t.data as Float32Array);
  }
  return { state, params, m, v };
}
