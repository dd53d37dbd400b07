import { type AdapterWeights, type LoraConfig, OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { multiLoraDelta, multiLoraDeltaReference } from '../../kernels/multi-lora.js';
import type { LinearAdapter, ModuleContext, ModuleName } from '../../model/hooks.js';
import { createRng, deriveSeed, type Rng } from '../../train/rng.js';
import { checkDims, MODULE_NAMES, moduleShape, type PeftModelDims } from '../model-dims.js';
import type { AdapterBaseInfo } from '../peft-method.js';
import { loraScaling, validateLoraConfig } from './config.js';
import { initLoraA, initLoraB } from './layer.js';
import { LoraModel } from './model.js';

/** Stacked adapters of one projection: A [n, in, r], B [n, r, out]. */
interface Stack {
  readonly layer: number;
  readonly module: ModuleName;
  readonly a: tf.Variable<tf.Rank.R3>;
  readonly b: tf.Variable<tf.Rank.R3>;
}

const key = (layer: number, module: string) => `${layer}.${module}`;

/** Rows [start, start + rows) of one adapter, whose solo batch is `length` long. */
interface DropoutRun {
  readonly adapter: number;
  readonly start: number;
  readonly rows: number;
  readonly length: number;
}

/** Each adapter's rows as one run (they must be contiguous and share one length). */
function dropoutRuns(ids: readonly number[], lengths: readonly number[] | undefined): DropoutRun[] {
  if (lengths && lengths.length !== ids.length)
    throw new OppuError(
      'invalid_argument',
      `MultiLora: ${lengths.length} row lengths for ${ids.length} rows (options.lengths)`,
    );
  const runs: DropoutRun[] = [];
  ids.forEach((adapter, i) => {
    const length = lengths?.[i] ?? -1;
    if (length !== -1 && (!Number.isInteger(length) || length < 1))
      throw new OppuError('invalid_argument', `MultiLora: options.lengths[${i}] is ${length}, not a length`);
    const last = runs[runs.length - 1];
    if (last && last.adapter === adapter) {
      if (last.length !== length)
        throw new OppuError(
          'invalid_argument',
          `MultiLora: rows ${last.start} and ${i} of adapter ${adapter} have lengths ${last.length} and ${length}; one adapter's rows share one length`,
        );
      runs[runs.length - 1] = { ...last, rows: last.rows + 1 };
      return;
    }
    if (runs.some((r) => r.adapter === adapter))
      throw new OppuError(
        'invalid_argument',
        `MultiLora: row ${i} of adapter ${adapter} is apart from its other rows; while training with dropout an adapter's rows must be contiguous`,
      );
    runs.push({ adapter, start: i, rows: 1, length });
  });
  return runs;
}

/**
 * The dropout multiplier [batch, seq, in] of a batch made of `runs`: for each run, the multiplier `tf.dropout`
 * draws with `seed` for the run's own [rows, length, in] batch (floor(u + keep) / keep, u uniform on [0, 1)),
 * zero on the padding past `length`. The multiplier is built from the uniforms in one pass, so its values on
 * a run's real positions are bitwise those of the solo call.
 */
function dropoutMultiplier(
  shape: readonly [number, number, number],
  runs: readonly DropoutRun[],
  seeds: readonly number[],
  rate: number,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [, seq, inF] = shape;
    const parts = runs.map((run, k) => {
      const length = run.length === -1 ? seq : run.length;
      if (length > seq)
        throw new OppuError(
          'invalid_argument',
          `MultiLora: rows of adapter ${run.adapter} are ${length} long, the batch only ${seq}`,
        );
      const u = tf.randomUniform([run.rows, length, inF], 0, 1, 'float32', seeds[k]);
      return length < seq
        ? tf.pad(u, [
            [0, 0],
            [0, seq - length],
            [0, 0],
          ])
        : u;
    });
    const uniform = parts.length === 1 ? (parts[0] as tf.Tensor) : tf.concat(parts, 0); // [batch, seq, in]
    // tf.dropout's multiplier, op for op (tfjs-core ops/dropout.ts); a padded 0 gives floor(keep) = 0.
    const keep = 1 - rate;
    return tf.div(tf.floor(tf.add(uniform, keep)), keep) as tf.Tensor3D;
  });
}

/**
 * Many users' LoRAs in one forward pass (the BGMV idea of Punica / S-LoRA): every projection holds the
 * adapters stacked, A [n, in, r] and B [n, r, out], and each batch row is routed to its own adapter by index
 * (kernels/multi-lora.ts gathers, multiplies, and scatters gradients back by adapter).
 *
 * Two uses:
 * - serving: `MultiLora.fromAdapters([...])` stacks saved adapters (ranks padded with zeros, each adapter's
 *   scaling folded into its B); row index -1 (or `none`) means "no adapter".
 * - training several users at once: `MultiLora.create(config, dims, seeds)`; stacks are trainable variables
 *   and a row's loss reaches only its own adapter's slice (tested), so users stay isolated. LoRA dropout
 *   draws each adapter's masks from that adapter's own seed stream, exactly as a `LoraModel` training alone
 *   on the same rows would (see `asLinearAdapter`), so no user's masks depend on who shares the batch.
 */
export class MultiLora {
  readonly dims: PeftModelDims;
  /** Number of adapters (users); slot `count` is the all-zero "no adapter" slot when built for serving. */
  readonly count: number;
  readonly r: number;
  /** The config every adapter shares (training), or undefined for a stack of saved adapters. */
  readonly config: LoraConfig | undefined;
  private readonly scale: number;
  private readonly stacks = new Map<string, Stack>();
  private readonly hasNoneSlot: boolean;
  private training = false;
  /** One dropout stream per adapter, as each adapter's own `LoraModel` would hold. */
  private dropoutRngs: Rng[] = [];
  private disposed = false;

  private constructor(
    dims: PeftModelDims,
    count: number,
    r: number,
    scale: number,
    config: LoraConfig | undefined,
    hasNoneSlot: boolean,
  ) {
    checkDims(dims);
    this.dims = dims;
    this.count = count;
    this.r = r;
    this.scale = scale;
    this.config = config;
    this.hasNoneSlot = hasNoneSlot;
  }

  /** `seeds.length` fresh adapters with the same config, each initialised as `new LoraModel(config, dims, {seed})`. */
  static create(config: LoraConfig, dims: PeftModelDims, seeds: readonly number[]): MultiLora {
    const c = validateLoraConfig(config);
    if (seeds.length === 0)
      throw new OppuError('invalid_argument', 'MultiLora.create: no seeds (one per adapter)');
    const m = new MultiLora(dims, seeds.length, c.r, loraScaling(c), c, false);
    for (let layer = 0; layer < dims.numLayers; layer++) {
      for (const module of c.targetModules as ModuleName[]) {
        const [inF, outF] = moduleShape(dims, module);
        const a = tf.tidy(() =>
          tf.variable(tf.stack(seeds.map((s) => initLoraA(inF, c.r, deriveSeed(s, layer, module))))),
        ) as tf.Variable<tf.Rank.R3>;
        const b = tf.tidy(() =>
          tf.variable(tf.stack(seeds.map(() => initLoraB(c.r, outF)))),
        ) as tf.Variable<tf.Rank.R3>;
        m.stacks.set(key(layer, module), { layer, module, a, b });
      }
    }
    return m;
  }

  /** Stacks existing adapters for serving (values are copied; the adapters stay usable). */
  static fromAdapters(adapters: readonly LoraModel[]): MultiLora {
    if (adapters.length === 0) throw new OppuError('invalid_argument', 'MultiLora.fromAdapters: no adapters');
    const dims = (adapters[0] as LoraModel).dims;
    adapters.forEach((a, i) => {
      if (JSON.stringify(a.dims) !== JSON.stringify(dims))
        throw new OppuError(
          'adapter_mismatch',
          `MultiLora.fromAdapters: adapter ${i} was made for another model`,
        );
    });
    const r = Math.max(...adapters.map((a) => a.config.r));
    const m = new MultiLora(dims, adapters.length, r, 1, undefined, true);
    const modules = MODULE_NAMES.filter((mod) => adapters.some((a) => a.config.targetModules.includes(mod)));
    for (let layer = 0; layer < dims.numLayers; layer++) {
      for (const module of modules) {
        const [inF, outF] = moduleShape(dims, module);
        const [a, b] = tf.tidy(() => {
          const as: tf.Tensor2D[] = [];
          const bs: tf.Tensor2D[] = [];
          for (const ad of [...adapters, undefined]) {
            const p = ad?.pair(layer, module);
            if (!ad || !p || ad.isMerged) {
              as.push(tf.zeros([inF, r]));
              bs.push(tf.zeros([r, outF]));
              continue;
            }
            const pad = r - ad.config.r;
            as.push(
              tf.pad(p.a, [
                [0, 0],
                [0, pad],
              ]),
            );
            bs.push(
              tf.pad(tf.mul(p.b, ad.scaling), [
                [0, pad],
                [0, 0],
              ]) as tf.Tensor2D,
            );
          }
          return [tf.variable(tf.stack(as), false), tf.variable(tf.stack(bs), false)];
        }) as [tf.Variable<tf.Rank.R3>, tf.Variable<tf.Rank.R3>];
        m.stacks.set(key(layer, module), { layer, module, a, b });
      }
    }
    return m;
  }

  /**
   * Dropout on (training) or off. `seed` starts each adapter's own dropout stream: one number for all of
   * them (each still draws from its own stream, as `LoraModel.setTraining(true, seed)` would), or one per
   * adapter.
   */
  setTraining(training: boolean, seed: number | readonly number[] = 0): void {
    if (typeof seed !== 'number' && seed.length !== this.count)
      throw new OppuError(
        'invalid_argument',
        `MultiLora.setTraining: ${seed.length} dropout seeds for ${this.count} adapters`,
      );
    this.training = training;
    this.dropoutRngs = Array.from({ length: this.count }, (_, i) =>
      createRng(typeof seed === 'number' ? seed : (seed[i] as number)),
    );
  }

  /**
   * The hooks for a batch whose row `i` belongs to adapter `rows[i]` (-1: no adapter, serving stacks only).
   * The returned adapter owns an index tensor: call `dispose()` on it when the batch is done.
   *
   * While training with dropout, each adapter's rows must be contiguous, and `lengths[i]` says how long row
   * `i`'s batch is when its adapter trains alone (its positions 0..lengths[i]-1 are real, the rest right
   * padding; default: the whole row). Every adapted projection then draws, for each adapter in row order,
   * one seed from that adapter's stream and the mask `tf.dropout` would draw for its own [rows, length, in]
   * batch; the masks are zero-padded to the batch length and stacked. So an adapter's masks, and with them
   * its training, are bitwise those of a `LoraModel` training alone on its rows, whoever shares the batch.
   */
  asLinearAdapter(
    rows: readonly number[],
    options: { readonly lengths?: readonly number[] } = {},
  ): LinearAdapter & { dispose(): void } {
    this.checkAlive();
    const ids = rows.map((r, i) => {
      if (r === -1 && this.hasNoneSlot) return this.count;
      if (!Number.isInteger(r) || r < 0 || r >= this.count)
        throw new OppuError(
          'invalid_argument',
          `MultiLora: row ${i} names adapter ${r}, there are ${this.count}`,
        );
      return r;
    });
    let runs: DropoutRun[] | undefined; // worked out at the first call with dropout on
    const idT = tf.keep(tf.tensor1d(ids, 'int32')); // lives until dispose(), also when made inside a tidy
    return {
      linear: (ctx: ModuleContext, x: tf.Tensor3D, base: (x: tf.Tensor3D) => tf.Tensor3D): tf.Tensor3D => {
        this.checkAlive();
        const s = this.stacks.get(key(ctx.layer, ctx.module));
        if (!s) return base(x);
        if (x.shape[0] !== ids.length)
          throw new OppuError(
            'invalid_argument',
            `MultiLora: batch of ${x.shape[0]} rows, adapter map has ${ids.length}`,
          );
        const rate = this.training && this.config ? this.config.dropout : 0;
        if (rate > 0) runs ??= dropoutRuns(ids, options.lengths);
        const seeds =
          rate > 0 ? (runs ?? []).map((run) => (this.dropoutRngs[run.adapter] as Rng).seed()) : [];
        return tf.tidy(() => {
          const xin =
            rate > 0 ? (tf.mul(x, dropoutMultiplier(x.shape, runs ?? [], seeds, rate)) as tf.Tensor3D) : x;
          // While training, the plain-tf reference (autograd keeps what backprop needs); the BGMV kernel's
          // gradient reads its input after the decoder's tidy has freed it (notes/kernels-multi-lora-bug.md).
          const delta = this.training ? multiLoraDeltaReference : multiLoraDelta;
          return tf.add(base(x), delta(xin, idT, s.a, s.b, this.scale)) as tf.Tensor3D;
        });
      },
      dispose: () => idT.dispose(),
    };
  }

  trainableVariables(): tf.Variable[] {
    return [...this.stacks.values()].flatMap((s) => [s.a, s.b]);
  }

  /** The stacks, one per adapted projection; axis 0 of every stack is the adapter (user). */
  stacksInOrder(): readonly Stack[] {
    return [...this.stacks.values()];
  }

  /** Loads `lora`'s values into slot `i` (e.g. to continue training a user's current adapter). */
  setAdapter(i: number, lora: LoraModel): void {
    this.checkAlive();
    if (!this.config)
      throw new OppuError('invalid_argument', 'MultiLora.setAdapter: only for stacks made by create()');
    if (!Number.isInteger(i) || i < 0 || i >= this.count)
      throw new OppuError('invalid_argument', `MultiLora.setAdapter: no slot ${i} (there are ${this.count})`);
    if (lora.config.r !== this.r || lora.config.targetModules.join() !== this.config.targetModules.join())
      throw new OppuError(
        'adapter_mismatch',
        'MultiLora.setAdapter: the LoRA has another rank or other target modules',
      );
    for (const s of this.stacks.values()) {
      const p = lora.pair(s.layer, s.module);
      if (!p) continue;
      tf.tidy(() => {
        const put = (stack: tf.Variable<tf.Rank.R3>, value: tf.Tensor2D) => {
          const parts: tf.Tensor3D[] = [];
          if (i > 0) parts.push(tf.slice(stack, [0, 0, 0], [i, -1, -1]));
          parts.push(tf.expandDims(value, 0) as tf.Tensor3D);
          if (i < this.count - 1) parts.push(tf.slice(stack, [i + 1, 0, 0], [-1, -1, -1]));
          stack.assign(tf.concat(parts, 0));
        };
        put(s.a, p.a);
        put(s.b, p.b);
      });
    }
  }

  /** Adapter `i` as a standalone LoRA (copies its slices). Only for stacks made by `create`. */
  adapter(i: number): LoraModel {
    this.checkAlive();
    if (!this.config)
      throw new OppuError('invalid_argument', 'MultiLora.adapter: only for stacks made by create()');
    if (!Number.isInteger(i) || i < 0 || i >= this.count)
      throw new OppuError('invalid_argument', `MultiLora.adapter: no adapter ${i} (there are ${this.count})`);
    const lora = new LoraModel(this.config, this.dims);
    for (const p of lora.allPairs()) {
      const s = this.stacks.get(key(p.layer, p.module)) as Stack;
      tf.tidy(() => {
        p.a.assign(tf.squeeze(tf.slice(s.a, [i, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D);
        p.b.assign(tf.squeeze(tf.slice(s.b, [i, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D);
      });
    }
    return lora;
  }

  /** Adapter `i` in HF PEFT layout. */
  adapterWeights(i: number, base: AdapterBaseInfo = {}): AdapterWeights {
    const lora = this.adapter(i);
    try {
      return lora.toWeights(base);
    } finally {
      lora.dispose();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    for (const s of this.stacks.values()) {
      s.a.dispose();
      s.b.dispose();
    }
    this.stacks.clear();
    this.disposed = true;
  }

  private checkAlive(): void {
    if (this.disposed) throw new OppuError('disposed', 'MultiLora: used after dispose()');
  }
}
