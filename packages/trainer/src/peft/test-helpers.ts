import * as tf from '@tensorflow/tfjs-core';
import type { BaseWeights, ModuleContext } from '../model/hooks.js';
import { MODULE_NAMES, moduleShape, type PeftModelDims } from './model-dims.js';

/** Tiny decoder sizes for unit tests (GQA: 4 query heads, 2 kv heads). */
export const TINY_DIMS: PeftModelDims = Object.freeze({
  numLayers: 2,
  hiddenSize: 8,
  intermediateSize: 12,
  numAttentionHeads: 4,
  numKeyValueHeads: 2,
  vocabSize: 16,
});

/**
 * Frozen projection weights held as non-trainable variables, [in, out] each: the same storage a decoder uses,
 * for testing the PEFT layer math on its own. `linear` is a projection x·W, the decoder's `base(x)`.
 */
export class VariableBaseWeights implements BaseWeights {
  readonly weights = new Map<string, tf.Variable<tf.Rank.R2>>();

  constructor(dims: PeftModelDims, seed: number) {
    for (let layer = 0; layer < dims.numLayers; layer++) {
      for (const module of MODULE_NAMES) {
        const [inF, outF] = moduleShape(dims, module);
        const w = tf.tidy(() =>
          tf.variable(
            tf.randomNormal([inF, outF], 0, 0.5, 'float32', seed + layer * 7 + module.length),
            false,
          ),
        );
        this.weights.set(`${layer}.${module}`, w as tf.Variable<tf.Rank.R2>);
      }
    }
  }

  getWeight(ctx: ModuleContext): tf.Tensor2D {
    return this.weights.get(`${ctx.layer}.${ctx.module}`) as tf.Variable<tf.Rank.R2>;
  }

  setWeight(ctx: ModuleContext, weight: tf.Tensor2D): void {
    (this.weights.get(`${ctx.layer}.${ctx.module}`) as tf.Variable<tf.Rank.R2>).assign(weight);
  }

  base(ctx: ModuleContext): (x: tf.Tensor3D) => tf.Tensor3D {
    return (x) =>
      tf.tidy(() => {
        const w = this.getWeight(ctx);
        const [b, s, i] = x.shape;
        return tf.reshape(tf.matMul(tf.reshape(x, [b * s, i]), w), [b, s, w.shape[1]]) as tf.Tensor3D;
      });
  }

  snapshot(): Map<string, Float32Array> {
    return new Map([...this.weights].map(([k, v]) => [k, v.dataSync() as Float32Array]));
  }

  dispose(): void {
    for (const v of this.weights.values()) v.dispose();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return a.length === b.length ? m : Number.POSITIVE_INFINITY;
}
