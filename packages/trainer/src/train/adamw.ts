import * as tf from '@tensorflow/tfjs-core';

export interface AdamWOptions {
  /** One decay for every variable, or one per variable (torch's parameter groups: e.g. 0 for norm gains). */
  readonly weightDecay: number | readonly number[];
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
}

/** What `AdamW.exportState` returns: the step count and each variable's moments. */
export interface AdamWState {
  readonly step: number;
  readonly m: readonly Float32Array[];
  readonly v: readonly Float32Array[];
}

/**
 * AdamW exactly as `torch.optim.AdamW` (Loshchilov & Hutter; decoupled weight decay, bias correction):
 *
 *   p ← p · (1 − lr·wd)
 *   m ← β1·m + (1−β1)·g            v ← β2·v + (1−β2)·g²
 *   p ← p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
 *
 * Defaults β = (0.9, 0.999), eps = 1e-8 (torch's and HF Trainer's). The learning rate is given per step, so a
 * schedule stays outside. State (m, v) lives in variables created once; `dispose()` frees it.
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** The decay of each variable. */
  readonly weightDecay: readonly number[];
  private readonly state: { p: tf.Variable; m: tf.Variable; v: tf.Variable }[];
  private t = 0;

  constructor(
    readonly variables: readonly tf.Variable[],
    options: AdamWOptions,
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    const wd = options.weightDecay;
    if (typeof wd !== 'number' && wd.length !== variables.length)
      throw new Error(`AdamW: weightDecay has ${wd.length} values for ${variables.length} variables`);
    this.weightDecay = variables.map((_, i) => (typeof wd === 'number' ? wd : (wd[i] as number)));
    this.state = variables.map((p) =>
      tf.tidy(() => ({ p, m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) })),
    );
  }

  get step(): number {
    return this.t;
  }

  /**
   * One update; `grads[i]` is the gradient of `variables[i]` (not disposed here). `lr` is one learning rate,
   * or one per slice along axis 0 of every variable (stacked multi-user adapters, each user on their own
   * schedule; a slice with lr 0 is left exactly as it is).
   */
  apply(grads: readonly tf.Tensor[], lr: number | readonly number[]): void {
    if (grads.length !== this.state.length)
      throw new Error(`AdamW: ${grads.length} gradients for ${this.state.length} variables`);
    this.t += 1;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2 = 1 - this.beta2 ** this.t;
    const sqrtBc2 = Math.sqrt(bc2);
    tf.tidy(() => {
      this.state.forEach(({ p, m, v }, i) => {
        const g = grads[i] as tf.Tensor;
        const wd = this.weightDecay[i] as number;
        // lr: a number, or a [n, 1, ...] tensor that broadcasts over each slice
        const lrT =
          typeof lr === 'number'
            ? lr
            : tf.reshape(tf.tensor1d([...lr]), [lr.length, ...p.shape.slice(1).map(() => 1)]);
        const stepSize = typeof lrT === 'number' ? lrT / bc1 : tf.div(lrT, bc1);
        const keep = typeof lrT === 'number' ? 1 - lrT * wd : tf.sub(1, tf.mul(lrT, wd));
        const decayed = wd !== 0 ? tf.mul(p, keep) : p;
        const m1 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v1 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        const denom = tf.add(tf.div(tf.sqrt(v1), sqrtBc2), this.eps);
        m.assign(m1);
        v.assign(v1);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), stepSize)));
      });
    });
  }

  /** The step count and the moments, on the host (for a resumable checkpoint); index i is variable i's. */
  exportState(): AdamWState {
    return {
      step: this.t,
      m: this.state.map((s) => s.m.dataSync() as Float32Array),
      v: this.state.map((s) => s.v.dataSync() as Float32Array),
    };
  }

  /** Restores `exportState()`'s output (same variables, same order). */
  importState(state: AdamWState): void {
    this.state.forEach((s, i) => {
      const m = state.m[i];
      const v = state.v[i];
      if (!m || !v || m.length !== s.p.size || v.length !== s.p.size)
        throw new Error(`AdamW state: moments of variable ${i} are missing or not ${s.p.size} values`);
      tf.tidy(() => {
        s.m.assign(tf.tensor(m, s.p.shape));
        s.v.assign(tf.tensor(v, s.p.shape));
      });
    });
    this.t = state.step;
  }

  dispose(): void {
    for (const s of this.state) {
      s.m.dispose();
      s.v.dispose();
    }
  }
}
