import * as tf from '@tensorflow/tfjs-core';

export interface AdamWOptions {
  readonly weightDecay: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
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
  readonly weightDecay: number;
  private readonly state: { p: tf.Variable; m: tf.Variable; v: tf.Variable }[];
  private t = 0;

  constructor(
    readonly variables: readonly tf.Variable[],
    options: AdamWOptions,
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay;
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
        // lr: a number, or a [n, 1, ...] tensor that broadcasts over each slice
        const lrT =
          typeof lr === 'number'
            ? lr
            : tf.reshape(tf.tensor1d([...lr]), [lr.length, ...p.shape.slice(1).map(() => 1)]);
        const stepSize = typeof lrT === 'number' ? lrT / bc1 : tf.div(lrT, bc1);
        const keep =
          typeof lrT === 'number' ? 1 - lrT * this.weightDecay : tf.sub(1, tf.mul(lrT, this.weightDecay));
        const decayed = this.weightDecay !== 0 ? tf.mul(p, keep) : p;
        const m1 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v1 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        const denom = tf.add(tf.div(tf.sqrt(v1), sqrtBc2), this.eps);
        m.assign(m1);
        v.assign(v1);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), stepSize)));
      });
    });
  }

  dispose(): void {
    for (const s of this.state) {
      s.m.dispose();
      s.v.dispose();
    }
  }
}
