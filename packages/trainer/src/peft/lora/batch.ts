import { OppuError } from '@oppu/core';
import type * as tf from '@tensorflow/tfjs-core';
import { type BgmvAdapter, bgmvAdd, bgmvAvailable } from '../../kernels/bgmv.js';
import type { LinearAdapter, ModuleContext } from '../../model/hooks.js';
import type { LoraModel } from './model.js';
import { MultiLora } from './multi.js';

/**
 * Serving hooks for one batch whose row i uses LoRA `adapters[rows[i]]` (-1: the base model alone): every
 * adapted projection adds each row's own scale · x·A·B in one pass (kernels/bgmv.ts), reading the adapters'
 * own tensors, so building a batch copies nothing and costs nothing per adapter. A row gets the same values
 * alone or in any batch (each row is computed on its own).
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
  // Per projection: each row's (A, B, scale), or null; built on first use, then reused every step.
  const perModule = new Map<string, (BgmvAdapter | null)[] | null>();
  const rowAdapters = (ctx: ModuleContext) => {
    const k = `${ctx.layer}.${ctx.module}`;
    let list = perModule.get(k);
    if (list === undefined) {
      const byAdapter = adapters.map((ad): BgmvAdapter | null => {
        const p = ad.pair(ctx.layer, ctx.module);
        return p && !ad.isMerged ? { a: p.a, b: p.b, scale: ad.scaling } : null;
      });
      const each = rows.map((r) => (r === -1 ? null : (byAdapter[r] ?? null)));
      list = each.some((a) => a !== null) ? each : null;
      perModule.set(k, list);
    }
    return list;
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
      const list = rowAdapters(ctx);
      if (!list) return base(x);
      const y = base(x);
      try {
        return bgmvAdd(y, x, list);
      } finally {
        y.dispose();
      }
    },
    dispose: () => {
      fallback?.hooks.dispose();
      fallback?.multi.dispose();
      fallback = undefined;
    },
  };
}
