import type * as tf from '@tensorflow/tfjs-core';

/**
 * The seam between the decoder and PEFT methods. The decoder never knows which method is attached:
 * every projection goes through `LinearAdapter.linear`, and a soft prompt comes in through `prefixEmbeddings`.
 */
export type ModuleName = 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj';

export interface ModuleContext {
  readonly module: ModuleName;
  readonly layer: number;
  /**
   * The projection's input depends on nothing trainable (the first layer's q/k/v read the frozen token
   * embeddings when no soft prompt is in front): an adapter may skip the gradient of its input.
   */
  readonly constantInput?: boolean;
}

/**
 * `base(x)` applies the frozen weight (no weight gradient is computed for it). An adapter returns
 * `base(x)` plus its delta (LoRA), or rescales input/output (IA3). Shapes: x [batch, seq, in] -> [batch, seq, out].
 * `weight`, when the decoder passes it, is the frozen [in, out] weight that `base` multiplies by, so an adapter
 * can fuse its delta with the base product (LoRA's `loraLinear` kernel); `base` stays the reference.
 */
export interface LinearAdapter {
  linear(
    ctx: ModuleContext,
    x: tf.Tensor3D,
    base: (x: tf.Tensor3D) => tf.Tensor3D,
    weight?: tf.Tensor2D,
  ): tf.Tensor3D;
  /** Soft prompt to prepend to the token embeddings: [batch, numVirtualTokens, hidden], or undefined. */
  prefixEmbeddings?(batch: number): tf.Tensor3D | undefined;
  /**
   * The adapter's whole effect on one projection when it is a low-rank delta, y = base(x) + scale·(x·A)·B
   * (LoRA at inference), for a fused decoding step that computes it itself; null: the projection is left as
   * is; undefined (or no such method): something else, so the decoder runs `linear`.
   */
  lowRank?(ctx: ModuleContext): LowRankDelta | null | undefined;
}

/** A LoRA pair as a fused step reads it: A [in, r], B [r, out], and the scale of their product. */
export interface LowRankDelta {
  readonly a: tf.Tensor2D;
  readonly b: tf.Tensor2D;
  readonly scale: number;
}

/** Access to the frozen base weights, for merging an adapter into the base and back. Layout [in, out]. */
export interface BaseWeights {
  getWeight(ctx: ModuleContext): tf.Tensor2D;
  setWeight(ctx: ModuleContext, weight: tf.Tensor2D): void;
}
