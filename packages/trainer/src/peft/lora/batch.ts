import { OppuError } from '@oppu/core';
import type * as tf from '@tensorflow/tfjs-core';
import {
  type BgmvAdapter,
  type BgmvGathered,
  bgmvAdd,
  bgmvAvailable,
  bgmvGather,
} from '../../kernels/bgmv.js';
import type { LinearAdapter, ModuleContext } from '../../model/hooks.js';
import type { LoraModel } from './model.js';
import { MultiLora } from './multi.js';

/**
 * Serving hooks for one batch whose row i uses LoRA `adapters[rows[i]]` (-1: the base model alone): every
 * adapted projection adds each row's own scale · x·A·B in one pass (kernels/bgmv.ts). With the native addon
 * the rows' adapters are copied side by side once per batch and projection (on first use; 2 x 8 KiB per row
 * at r 8, d 256) so that a step is two batched SGEMM calls; without it each row reads its adapter's own
 * tensors. A row gets the same values alone or in any batch (each row is computed on its own).
 *
 * For inference only (no gradient). Off the wasm backend it stacks the adapters once (`MultiLora.fromAdapters`)
 * and routes rows with the plain-tf multi-LoRA kernel. The adapters must stay alive until `dispose()`.
 */
export function loraBatchAdapter(
  adapters: readonly LoraModel[],
  rows: readonly number[],
): LinearAdapter & { dispose(): void } {
  if (adapters.length === 0) throw new OppuError('invalid_argument', 'loraBatchAdapter: no adapters');
  const dims = JSON.stringify((adapters[0] as LoraModel).dims);
  adapters.forEach((a, i) => {
    if (JSON.stringify(a.dims) !== dims)
      throw new OppuError('adapter_mismatch', `loraBatchAdapter: adapter ${i} was made for another model`);
  });
  rows.forEach((r, i) => {
    if (r !== -1 && !(Number.isInteger(r) && r >= 0 && r < adapters.length))
      throw new OppuError(
        'invalid_argument',
        `loraBatchAdapter: row ${i} names adapter ${r}, there are ${adapters.length} (-1: none)`,
      );
  });
  // Per projection: each row's (A, B, scale), or null, and (with the addon) the rows' adapters gathered side by
  // side for two batched SGEMM calls a step; built on first use, then reused every step.
  const perModule = new Map<string, { list: (BgmvAdapter | null)[]; gathered: BgmvGathered | null } | null>();
  const rowAdapters = (ctx: ModuleContext) => {
    const k = `${ctx.layer}.${ctx.module}`;
    let entry = perModule.get(k);
    if (entry === undefined) {
      const byAdapter = adapters.map((ad): BgmvAdapter | null => {
        const p = ad.pair(ctx.layer, ctx.module);
        return p && !ad.isMerged ? { a: p.a, b: p.b, scale: ad.scaling } : null;
      });
      const list = rows.map((r) => (r === -1 ? null : (byAdapter[r] ?? null)));
      entry = list.some((a) => a !== null) ? { list, gathered: bgmvGather(list) } : null;
      perModule.set(k, entry);
    }
    return entry;
  };
  // Off wasm: stack once, now (not inside the decoder's tidy, which would free the row index tensor).
  let fallback: { multi: MultiLora; hooks: LinearAdapter & { dispose(): void } } | undefined;
  if (!bgmvAvailable()) {
    const multi = MultiLora.fromAdapters(adapters);
    fallback = { multi, hooks: multi.asLinearAdapter(rows) };
  }
  return {
    linear: (ctx: ModuleContext, x: tf.Tensor3D, base: (x: tf.Tensor3D) => tf.Tensor3D): tf.Tensor3D => {
      if (x.shape[0] !== rows.length)
        throw new OppuError(
          'invalid_argument',
          `loraBatchAdapter: batch of ${x.shape[0]} rows, adapter map has ${rows.length}`,
        );
      if (fallback) return fallback.hooks.linear(ctx, x, base);
      const entry = rowAdapters(ctx);
      if (!entry) return base(x);
      const y = base(x);
      try {
        return bgmvAdd(y, x, entry.list, entry.gathered);
      } finally {
        y.dispose();
      }
    },
    // One row: its adapter's pair, for a fused decoding step (the row's values are the same either way).
    ...(rows.length === 1
      ? {
          lowRank: (ctx: ModuleContext) => {
            const ad = rows[0] === -1 ? undefined : adapters[rows[0] as number];
            const p = ad?.pair(ctx.layer, ctx.module);
            return ad && p && !ad.isMerged ? { a: p.a, b: p.b, scale: ad.scaling } : null;
          },
        }
      : {}),
    dispose: () => {
      for (const entry of perModule.values()) entry?.gathered?.dispose();
      perModule.clear();
      fallback?.hooks.dispose();
      fallback?.multi.dispose();
      fallback = undefined;
    },
  };
}
