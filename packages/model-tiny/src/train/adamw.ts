import * as tf from '@tensorflow/tfjs-core';

export interface AdamWOptions {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWOptions = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

/**
 * AdamW (Loshchilov & Hutter 2019) with decoupled weight decay on matrices only (norm gains are not decayed),
 * bias-corrected moments, and global-norm gradient clipping. State (m, v, step) can be exported and restored
 * for resumable checkpoints.
 */
export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  step = 0;

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    private readonly options: AdamWOptions = ADAMW_DEFAULTS,
  ) {
    for (const [name, p] of params) {
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
    }
  }

  /**
   * Applies one update; returns the gradient's global norm before clipping. `grads` is keyed by tf variable
   * name, as `tf.variableGrads` returns it. Does not dispose `grads`.
   */
  apply(grads: Record<string, tf.Tensor>, lr: number, clipNorm: number): number {
    this.step += 1;
    const { beta1, beta2, eps, weightDecay } = this.options;
    const sq = tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
    const norm = Math.sqrt(sq.dataSync()[0]!);
    sq.dispose();
    const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / norm : 1;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = 1 - beta2 ** this.step;
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g0 = grads[p.name];
        if (!g0) throw new Error(`AdamW: no gradient for ${name}`);
        const g = scale === 1 ? g0 : tf.mul(g0, scale);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        const decay = p.shape.length >= 2 ? tf.mul(p, weightDecay) : tf.zerosLike(p);
        p.assign(tf.sub(p, tf.mul(tf.add(update, decay), lr)));
      }
    });
    return norm;
  }

  /** Moments as host arrays, for a checkpoint. */
  exportState(): { step: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> } {
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const [name, t] of this.m) m.set(name, t.dataSync() as Float32Array);
    for (const [name, t] of this.v) v.set(name, t.dataSync() as Float32Array);
    return { step: this.step, m, v };
  }

  importState(state: { step: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> }): void {
    this.step = state.step;
    const restore = (vars: Map<string, tf.Variable>, from: Map<string, Float32Array>) => {
      for (const [name, t] of vars) {
        const d = from.get(name);
        if (!d) throw new Error(`AdamW: checkpoint has no moment for ${name}`);
        tf.tidy(() => t.assign(tf.tensor(d, t.shape)));
      }
    };
    restore(this.m, state.m);
    restore(this.v, state.v);
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/** Linear warmup to `peak`, then cosine decay to `peak * minRatio` at `total` steps. */
export function cosineSchedule(
  step: number,
  total: number,
  warmup: number,
  peak: number,
  minRatio = 0.1,
): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const t = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * t)));
}
