import type { AdapterWeights, HostTensor, LoraConfig } from '@oppu/core';
import { OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { loraLinear } from '../../kernels/lora-linear.js';
import type { BaseWeights, LinearAdapter, ModuleContext, ModuleName } from '../../model/hooks.js';
import { createRng, deriveSeed, type Rng } from '../../train/rng.js';
import { checkDims, moduleShape, type PeftModelDims, peftModulePath } from '../model-dims.js';
import type { AdapterBaseInfo, PeftMethod } from '../peft-method.js';
import { checkNoExtraTensors, takeTensor, transpose2d } from '../weights-check.js';
import { loraConfigFromPeft, loraConfigToPeft, loraScaling, validateLoraConfig } from './config.js';
import { initLoraA, initLoraB, loraDelta, loraDeltaWeight } from './layer.js';

/** One adapted projection: A [in, r], B [r, out]. */
export interface LoraPair {
  readonly layer: number;
  readonly module: ModuleName;
  readonly a: tf.Variable<tf.Rank.R2>;
  readonly b: tf.Variable<tf.Rank.R2>;
}

const key = (layer: number, module: string) => `${layer}.${module}`;

/**
 * LoRA on the decoder's projections (HF PEFT `tuners/lora`): every targeted projection of every layer gets
 * a pair A [in, r] (kaiming-uniform, seeded) and B [r, out] (zeros). `linear` adds scaling · dropout(x)·A·B to
 * the frozen projection; base weights are only changed by an explicit `merge`.
 */
export class LoraModel implements PeftMethod {
  readonly method = 'lora' as const;
  readonly config: LoraConfig;
  readonly dims: PeftModelDims;
  readonly scaling: number;
  private readonly pairs = new Map<string, LoraPair>();
  private training = false;
  private dropoutRng: Rng = createRng(0);
  private merged = false;
  private enabled = true;
  private disposed = false;

  constructor(config: LoraConfig, dims: PeftModelDims, options: { seed?: number } = {}) {
    checkDims(dims);
    this.config = validateLoraConfig(config);
    this.dims = dims;
    this.scaling = loraScaling(this.config);
    const seed = options.seed ?? 0;
    for (let layer = 0; layer < dims.numLayers; layer++) {
      for (const module of this.config.targetModules as ModuleName[]) {
        const [inF, outF] = moduleShape(dims, module);
        // (tf variable names are global, so ours stay unnamed)
        const a = tf.tidy(() => tf.variable(initLoraA(inF, this.config.r, deriveSeed(seed, layer, module))));
        const b = tf.tidy(() => tf.variable(initLoraB(this.config.r, outF)));
        this.pairs.set(key(layer, module), { layer, module, a, b });
      }
    }
  }

  /** A LoRA holding the values of saved weights (PEFT layout), checked against the model dims. */
  static fromWeights(weights: AdapterWeights, dims: PeftModelDims, where = 'adapter'): LoraModel {
    const config = loraConfigFromPeft(weights.config, `${where}: adapter_config.json`);
    const model = new LoraModel(config, dims);
    try {
      model.fromWeights(weights, where);
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  }

  pair(layer: number, module: ModuleName): LoraPair | undefined {
    return this.pairs.get(key(layer, module));
  }

  allPairs(): LoraPair[] {
    return [...this.pairs.values()];
  }

  /** Whether `linear` adds the delta (PEFT's `disable_adapter()` context turns it off). */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
  }

  get isMerged(): boolean {
    return this.merged;
  }

  setTraining(training: boolean, seed = 0): void {
    this.training = training;
    this.dropoutRng = createRng(seed);
  }

  asLinearAdapter(): LinearAdapter {
    return {
      linear: (
        ctx: ModuleContext,
        x: tf.Tensor3D,
        base: (x: tf.Tensor3D) => tf.Tensor3D,
        weight?: tf.Tensor2D,
      ): tf.Tensor3D => {
        this.checkAlive();
        const p = this.pairs.get(key(ctx.layer, ctx.module));
        if (!p || !this.enabled || this.merged) return base(x);
        const dropout =
          this.training && this.config.dropout > 0
            ? { rate: this.config.dropout, seed: this.dropoutRng.seed() }
            : undefined;
        if (weight) {
          // One fused kernel for x·W + s·(dropout(x)·A)·B and its gradient (src/kernels/lora-linear.ts).
          return tf.tidy(() => {
            const xl = dropout
              ? (tf.dropout(x, dropout.rate, undefined, dropout.seed) as tf.Tensor3D)
              : undefined;
            return loraLinear(x, weight, p.a, p.b, this.scaling, xl, { inputGrad: !ctx.constantInput });
          });
        }
        return tf.tidy(() => tf.add(base(x), loraDelta(x, p.a, p.b, this.scaling, dropout)) as tf.Tensor3D);
      },
      lowRank: (ctx: ModuleContext) => {
        this.checkAlive();
        const p = this.pairs.get(key(ctx.layer, ctx.module));
        if (!p || !this.enabled || this.merged) return null;
        if (this.training && this.config.dropout > 0) return undefined; // dropout: only `linear` does it
        return { a: p.a, b: p.b, scale: this.scaling };
      },
    };
  }

  trainableVariables(): tf.Variable[] {
    return this.allPairs().flatMap((p) => [p.a, p.b]);
  }

  numParameters(): number {
    return this.trainableVariables().reduce((n, v) => n + v.size, 0);
  }

  /** Adds scaling·A·B into each targeted base weight; `linear` then passes through. */
  merge(base: BaseWeights): void {
    this.checkAlive();
    if (this.merged)
      throw new OppuError('lora_already_merged', 'LoRA: merge() called twice; unmerge() first');
    this.applyDelta(base, 1);
    this.merged = true;
  }

  /** Subtracts what `merge` added, restoring the base (to float rounding). */
  unmerge(base: BaseWeights): void {
    this.checkAlive();
    if (!this.merged) throw new OppuError('lora_not_merged', 'LoRA: unmerge() called without merge()');
    this.applyDelta(base, -1);
    this.merged = false;
  }

  private applyDelta(base: BaseWeights, sign: 1 | -1): void {
    for (const p of this.pairs.values()) {
      const ctx = { layer: p.layer, module: p.module };
      const w = base.getWeight(ctx);
      const next = tf.tidy(() => {
        const delta = loraDeltaWeight(p.a, p.b, this.scaling);
        return sign > 0 ? tf.add(w, delta) : tf.sub(w, delta);
      }) as tf.Tensor2D;
      // BaseWeights contract (notes/trainer-peft-api.md): getWeight returns the model's own tensor (not ours
      // to dispose); setWeight copies the values in (Variable.assign), so `next` stays ours to free.
      base.setWeight(ctx, next);
      next.dispose();
    }
  }

  /** PEFT layout: `<path>.lora_A.weight` [r, in], `<path>.lora_B.weight` [out, r], float32. */
  toWeights(base: AdapterBaseInfo = {}): AdapterWeights {
    this.checkAlive();
    const tensors = new Map<string, HostTensor>();
    for (const p of this.pairs.values()) {
      const [inF, outF] = moduleShape(this.dims, p.module);
      const path = peftModulePath(p.layer, p.module);
      const r = this.config.r;
      tensors.set(`${path}.lora_A.weight`, {
        dtype: 'float32',
        shape: [r, inF],
        data: transpose2d(p.a.dataSync() as Float32Array, inF, r),
      });
      tensors.set(`${path}.lora_B.weight`, {
        dtype: 'float32',
        shape: [outF, r],
        data: transpose2d(p.b.dataSync() as Float32Array, r, outF),
      });
    }
    return { config: loraConfigToPeft(this.config, base), tensors };
  }

  fromWeights(weights: AdapterWeights, where = 'adapter'): void {
    this.checkAlive();
    const config = loraConfigFromPeft(weights.config, `${where}: adapter_config.json`);
    if (config.r !== this.config.r || config.targetModules.join() !== this.config.targetModules.join())
      throw new OppuError(
        'adapter_mismatch',
        `${where}: r ${config.r} on [${config.targetModules.join(', ')}] does not match this LoRA (r ${this.config.r} on [${this.config.targetModules.join(', ')}])`,
      );
    const expected = new Set<string>();
    const values: [LoraPair, Float32Array, Float32Array][] = [];
    for (const p of this.pairs.values()) {
      const [inF, outF] = moduleShape(this.dims, p.module);
      const path = peftModulePath(p.layer, p.module);
      const r = this.config.r;
      expected.add(`${path}.lora_A.weight`).add(`${path}.lora_B.weight`);
      const a = takeTensor(weights, `${path}.lora_A.weight`, [r, inF], where);
      const b = takeTensor(weights, `${path}.lora_B.weight`, [outF, r], where);
      values.push([p, transpose2d(a, r, inF), transpose2d(b, outF, r)]);
    }
    checkNoExtraTensors(weights, expected, where);
    // Everything checked: now assign.
    for (const [p, a, b] of values) {
      tf.tidy(() => {
        p.a.assign(tf.tensor2d(a, p.a.shape as [number, number]));
        p.b.assign(tf.tensor2d(b, p.b.shape as [number, number]));
      });
    }
  }

  dispose(): void {
    if (this.disposed) return;
    for (const p of this.pairs.values()) {
      p.a.dispose();
      p.b.dispose();
    }
    this.pairs.clear();
    this.disposed = true;
  }

  private checkAlive(): void {
    if (this.disposed) throw new OppuError('disposed', 'LoRA: used after dispose()');
  }
}
