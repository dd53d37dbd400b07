import { type LoraConfig, OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import type { ModuleName } from '../../model/hooks.js';
import { MODULE_NAMES } from '../model-dims.js';
import { LoraModel } from './model.js';

/**
 * How `addWeightedAdapter` combines LoRAs, following HF PEFT's `LoraModel.add_weighted_adapter`
 * (peft/tuners/lora/model.py):
 *
 * - `linear` (same rank r): A = Σ sign(wᵢsᵢ)·sqrt(|wᵢsᵢ|)·Aᵢ and B = Σ sqrt(|wᵢsᵢ|)·Bᵢ, where sᵢ is adapter i's
 *   scaling. Cheap and rank-preserving, but not the weighted sum of the deltas (cross terms Bᵢ·Aⱼ appear).
 * - `cat`: A = concat(wᵢsᵢ·Aᵢ), B = concat(Bᵢ) along the rank axis (rank Σrᵢ): exactly Σ wᵢsᵢ·Bᵢ·Aᵢ.
 *
 * The result has r = new rank and alpha = r (scaling 1), as PEFT sets. One deviation: PEFT copies
 * `use_rslora` from the first adapter, which would rescale the combined delta by sqrt(r); we turn rsLoRA off
 * so the combination means what the formula says. The SVD-based types are not implemented.
 */
export type LoraCombination = 'linear' | 'cat';

export function addWeightedAdapter(
  adapters: readonly LoraModel[],
  weights: readonly number[],
  combination: LoraCombination = 'linear',
): LoraModel {
  if (adapters.length === 0) throw new OppuError('invalid_argument', 'addWeightedAdapter: no adapters given');
  if (weights.length !== adapters.length || !weights.every(Number.isFinite))
    throw new OppuError(
      'invalid_argument',
      `addWeightedAdapter: ${weights.length} weights for ${adapters.length} adapters (one finite number each)`,
    );
  const first = adapters[0] as LoraModel;
  const dims = first.dims;
  for (const [i, a] of adapters.entries()) {
    if (JSON.stringify(a.dims) !== JSON.stringify(dims))
      throw new OppuError('adapter_mismatch', `addWeightedAdapter: adapter ${i} was made for another model`);
    if (a.isMerged)
      throw new OppuError('adapter_mismatch', `addWeightedAdapter: adapter ${i} is merged; unmerge it first`);
  }
  // PEFT: one adapter can only be combined linearly.
  const type = adapters.length === 1 ? 'linear' : combination;
  if (type === 'linear' && new Set(adapters.map((a) => a.config.r)).size !== 1)
    throw new OppuError(
      'adapter_mismatch',
      `addWeightedAdapter: 'linear' needs the same r for every adapter (got ${adapters.map((a) => a.config.r).join(', ')}); use 'cat'`,
    );
  const r = type === 'linear' ? first.config.r : adapters.reduce((n, a) => n + a.config.r, 0);
  const targets = MODULE_NAMES.filter((m) => adapters.some((a) => a.config.targetModules.includes(m)));
  const config: LoraConfig = {
    method: 'lora',
    r,
    alpha: r,
    dropout: first.config.dropout,
    targetModules: targets,
  };
  const out = new LoraModel(config, dims);
  for (const p of out.allPairs()) {
    const present = adapters
      .map((a, i) => ({
        pair: a.pair(p.layer, p.module as ModuleName),
        ws: (weights[i] as number) * a.scaling,
      }))
      .filter((x) => x.pair !== undefined) as {
      pair: NonNullable<ReturnType<LoraModel['pair']>>;
      ws: number;
    }[];
    tf.tidy(() => {
      if (type === 'linear') {
        const a = tf.addN(
          present.map(({ pair, ws }) => tf.mul(pair.a, Math.sign(ws || 1) * Math.sqrt(Math.abs(ws)))),
        );
        const b = tf.addN(present.map(({ pair, ws }) => tf.mul(pair.b, Math.sqrt(Math.abs(ws)))));
        p.a.assign(a as tf.Tensor2D);
        p.b.assign(b as tf.Tensor2D);
      } else {
        // ours: A [in, r] and B [r, out], so the rank axis is 1 for A and 0 for B
        let a = tf.concat(present.map(({ pair, ws }) => tf.mul(pair.a, ws)) as tf.Tensor2D[], 1);
        let b = tf.concat(
          present.map(({ pair }) => pair.b as tf.Tensor2D),
          0,
        );
        const used = a.shape[1];
        if (used < r) {
          a = tf.pad(a, [
            [0, 0],
            [0, r - used],
          ]);
          b = tf.pad(b, [
            [0, r - used],
            [0, 0],
          ]);
        }
        p.a.assign(a);
        p.b.assign(b);
      }
    });
  }
  return out;
}
