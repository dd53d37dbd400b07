import type { AdapterWeights, HostTensor, Ia3Config } from '@oppu/core';
import { OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import type { LinearAdapter, ModuleContext, ModuleName } from '../../model/hooks.js';
import { checkDims, moduleShape, type PeftModelDims, peftModulePath } from '../model-dims.js';
import type { AdapterBaseInfo, PeftMethod } from '../peft-method.js';
import { checkNoExtraTensors, takeTensor } from '../weights-check.js';
import { ia3ConfigFromPeft, ia3ConfigToPeft, validateIa3Config } from './config.js';
import { ia3Linear } from './layer.js';

interface Ia3Vector {
  readonly layer: number;
  readonly module: ModuleName;
  readonly feedforward: boolean;
  /** [in] for feed-forward modules, [out] otherwise. */
  readonly l: tf.Variable<tf.Rank.R1>;
}

const key = (layer: number, module: string) => `${layer}.${module}`;

/**
 * IA3 wiring: one vector per targeted projection per layer. PEFT saves it as `<path>.ia3_l`, shaped
 * [out, 1] (output rescaling) or [1, in] (feed-forward input rescaling).
 */
export class Ia3Model implements PeftMethod {
  readonly method = 'ia3' as const;
  readonly config: Ia3Config;
  readonly dims: PeftModelDims;
  private readonly vectors = new Map<string, Ia3Vector>();
  private disposed = false;

  constructor(config: Ia3Config, dims: PeftModelDims) {
    checkDims(dims);
    this.config = validateIa3Config(config);
    this.dims = dims;
    for (let layer = 0; layer < dims.numLayers; layer++) {
      for (const module of this.config.targetModules as ModuleName[]) {
        const feedforward = this.config.feedforwardModules.includes(module);
        const [inF, outF] = moduleShape(dims, module);
        const l = tf.tidy(() => tf.variable(tf.ones([feedforward ? inF : outF]))) as tf.Variable<tf.Rank.R1>;
        this.vectors.set(key(layer, module), { layer, module, feedforward, l });
      }
    }
  }

  static fromWeights(weights: AdapterWeights, dims: PeftModelDims, where = 'adapter'): Ia3Model {
    const model = new Ia3Model(ia3ConfigFromPeft(weights.config, `${where}: adapter_config.json`), dims);
    try {
      model.fromWeights(weights, where);
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  }

  vector(layer: number, module: ModuleName): tf.Variable<tf.Rank.R1> | undefined {
    return this.vectors.get(key(layer, module))?.l;
  }

  setTraining(): void {
    // IA3 has no dropout.
  }

  asLinearAdapter(): LinearAdapter {
    return {
      linear: (ctx: ModuleContext, x: tf.Tensor3D, base: (x: tf.Tensor3D) => tf.Tensor3D): tf.Tensor3D => {
        if (this.disposed) throw new OppuError('disposed', 'IA3: used after dispose()');
        const v = this.vectors.get(key(ctx.layer, ctx.module));
        return v ? ia3Linear(x, base, v.l, v.feedforward) : base(x);
      },
    };
  }

  trainableVariables(): tf.Variable[] {
    return [...this.vectors.values()].map((v) => v.l);
  }

  numParameters(): number {
    return this.trainableVariables().reduce((n, v) => n + v.size, 0);
  }

  private shapeOf(v: Ia3Vector): [number, number] {
    return v.feedforward ? [1, v.l.size] : [v.l.size, 1];
  }

  toWeights(base: AdapterBaseInfo = {}): AdapterWeights {
    const tensors = new Map<string, HostTensor>();
    for (const v of this.vectors.values()) {
      tensors.set(`${peftModulePath(v.layer, v.module)}.ia3_l`, {
        dtype: 'float32',
        shape: this.shapeOf(v),
        data: v.l.dataSync() as Float32Array,
      });
    }
    return { config: ia3ConfigToPeft(this.config, base), tensors };
  }

  fromWeights(weights: AdapterWeights, where = 'adapter'): void {
    const config = ia3ConfigFromPeft(weights.config, `${where}: adapter_config.json`);
    if (
      config.targetModules.join() !== this.config.targetModules.join() ||
      config.feedforwardModules.join() !== this.config.feedforwardModules.join()
    )
      throw new OppuError('adapter_mismatch', `${where}: IA3 modules differ from this adapter's config`);
    const expected = new Set<string>();
    const values: [Ia3Vector, Float32Array][] = [];
    for (const v of this.vectors.values()) {
      const name = `${peftModulePath(v.layer, v.module)}.ia3_l`;
      expected.add(name);
      values.push([v, takeTensor(weights, name, this.shapeOf(v), where)]);
    }
    checkNoExtraTensors(weights, expected, where);
    for (const [v, data] of values) tf.tidy(() => v.l.assign(tf.tensor1d(data)));
  }

  dispose(): void {
    if (this.disposed) return;
    for (const v of this.vectors.values()) v.l.dispose();
    this.vectors.clear();
    this.disposed = true;
  }
}
