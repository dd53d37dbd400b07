import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { OPPU_LORA } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, TINY_DIMS, VariableBaseWeights } from '../test-helpers.js';
import { addWeightedAdapter } from './combine.js';
import { loraDeltaWeight } from './layer.js';
import { LoraModel } from './model.js';
import { MultiLora } from './multi.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const trained = (config: Partial<typeof OPPU_LORA>, seed: number) => {
  const l = new LoraModel({ ...OPPU_LORA, ...config }, TINY_DIMS, { seed });
  for (const p of l.allPairs()) p.b.assign(tf.randomNormal(p.b.shape, 0, 1, 'float32', seed * 31 + p.layer));
  return l;
};
const delta = (l: LoraModel, layer: number, m: 'q_proj' | 'v_proj' | 'o_proj') => {
  const p = l.pair(layer, m);
  if (!p) throw new Error('no pair');
  const d = loraDeltaWeight(p.a, p.b, l.scaling);
  const out = d.dataSync();
  d.dispose();
  return out;
};

describe('addWeightedAdapter (PEFT semantics)', () => {
  it("'cat' gives exactly the weighted sum of the deltas, at rank r1 + r2", () => {
    const a = trained({ r: 2, alpha: 4 }, 1);
    const b = trained({ r: 3, alpha: 3, targetModules: ['q_proj', 'o_proj'] }, 2);
    const c = addWeightedAdapter([a, b], [0.7, -0.4], 'cat');
    expect(c.config).toMatchObject({ r: 5, alpha: 5, targetModules: ['q_proj', 'v_proj', 'o_proj'] });
    expect(c.scaling).toBe(1);
    const want = delta(a, 1, 'q_proj').map((v, i) => 0.7 * v - 0.4 * (delta(b, 1, 'q_proj')[i] as number));
    expect(maxAbsDiff(delta(c, 1, 'q_proj'), want)).toBeLessThan(1e-5);
    // a module only one adapter has: its delta alone (zero-padded rank)
    expect(
      maxAbsDiff(
        delta(c, 0, 'v_proj'),
        delta(a, 0, 'v_proj').map((v) => 0.7 * v),
      ),
    ).toBeLessThan(1e-5);
    for (const l of [a, b, c]) l.dispose();
  });

  it("'linear' combines A and B with sqrt(|w·s|) (sign on A), as PEFT; one adapter is rescaled exactly", () => {
    const a = trained({ r: 4, alpha: 8 }, 3);
    const b = trained({ r: 4, alpha: 4 }, 4);
    const one = addWeightedAdapter([a], [-0.5]);
    expect(
      maxAbsDiff(
        delta(one, 0, 'q_proj'),
        delta(a, 0, 'q_proj').map((v) => -0.5 * v),
      ),
    ).toBeLessThan(1e-5);
    const c = addWeightedAdapter([a, b], [0.5, 2], 'linear');
    expect(c.config.r).toBe(4);
    const pa = a.pair(0, 'q_proj');
    const pb = b.pair(0, 'q_proj');
    const want = tf.tidy(() => {
      const ka = Math.sqrt(0.5 * a.scaling);
      const kb = Math.sqrt(2 * b.scaling);
      const A = tf.add(tf.mul(pa?.a as tf.Tensor, ka), tf.mul(pb?.a as tf.Tensor, kb)) as tf.Tensor2D;
      const B = tf.add(tf.mul(pa?.b as tf.Tensor, ka), tf.mul(pb?.b as tf.Tensor, kb)) as tf.Tensor2D;
      return tf.matMul(A, B).dataSync();
    });
    expect(maxAbsDiff(delta(c, 0, 'q_proj'), want)).toBeLessThan(1e-5);
    const r8 = trained({ r: 8 }, 5);
    expect(() => addWeightedAdapter([a, r8], [1, 1], 'linear')).toThrow(/same r for every adapter/);
    for (const l of [a, b, one, c, r8]) l.dispose();
  });
});

describe('MultiLora: one batch, many users', () => {
  let base: VariableBaseWeights;
  beforeAll(() => {
    base = new VariableBaseWeights(TINY_DIMS, 3);
  });
  afterAll(() => base.dispose());

  it('serves each row with its own adapter (and -1 with none), equal to running them one by one', () => {
    const users = [trained({ r: 2, alpha: 4 }, 1), trained({ r: 4, alpha: 4, targetModules: ['q_proj'] }, 2)];
    const multi = MultiLora.fromAdapters(users);
    const ctx = { layer: 1, module: 'q_proj' } as const;
    const x = tf.randomNormal([3, 2, 8], 0, 1, 'float32', 8) as tf.Tensor3D;
    const hooks = multi.asLinearAdapter([1, -1, 0]);
    const y = hooks.linear(ctx, x, base.base(ctx));
    const row = (i: number) => tf.slice(x, [i, 0, 0], [1, -1, -1]) as tf.Tensor3D;
    const want = [
      users[1]?.asLinearAdapter().linear(ctx, row(0), base.base(ctx)),
      base.base(ctx)(row(1)),
      users[0]?.asLinearAdapter().linear(ctx, row(2), base.base(ctx)),
    ] as tf.Tensor3D[];
    expect(maxAbsDiff(y.dataSync(), tf.concat(want, 0).dataSync())).toBeLessThan(1e-5);
    // v_proj: user 1 has no adapter there -> base for that row
    const vctx = { layer: 0, module: 'v_proj' } as const;
    const yv = hooks.linear(vctx, x, base.base(vctx));
    expect(
      maxAbsDiff(tf.slice(yv, [0, 0, 0], [1, -1, -1]).dataSync(), base.base(vctx)(row(0)).dataSync()),
    ).toBeLessThan(1e-6);
    hooks.dispose();
    multi.dispose();
    for (const u of users) u.dispose();
  });

  it("in training, a row's gradient reaches only its own user's adapter, and equals training that user alone", () => {
    const config = { ...OPPU_LORA, r: 2, alpha: 4, dropout: 0 };
    const multi = MultiLora.create(config, TINY_DIMS, [11, 12, 13]);
    // give B non-zero values so A gets gradient too
    for (const s of multi.stacksInOrder()) s.b.assign(tf.randomNormal(s.b.shape, 0, 1, 'float32', 5));
    const ctx = { layer: 0, module: 'q_proj' } as const;
    const x = tf.randomNormal([3, 2, 8], 0, 1, 'float32', 1) as tf.Tensor3D;
    const probe = tf.randomNormal([3, 2, 8], 0, 1, 'float32', 2);
    const rows = [2, 0, 2]; // user 1 is not in the batch
    const hooks = multi.asLinearAdapter(rows);
    const vars = multi.trainableVariables();
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(hooks.linear(ctx, x, base.base(ctx)), probe)) as tf.Scalar,
      vars,
    );
    const stack = multi.stacksInOrder().find((s) => s.layer === 0 && s.module === 'q_proj');
    const gA = grads[stack?.a.name as string] as tf.Tensor3D;
    const gB = grads[stack?.b.name as string] as tf.Tensor3D;
    const slot = (t: tf.Tensor3D, i: number) => tf.slice(t, [i, 0, 0], [1, -1, -1]).dataSync();
    expect(Math.max(...slot(gA, 1).map(Math.abs))).toBe(0);
    expect(Math.max(...slot(gB, 1).map(Math.abs))).toBe(0);
    expect(Math.max(...slot(gA, 2).map(Math.abs))).toBeGreaterThan(0);
    // user 2 alone, on its own rows (0 and 2): the same gradient
    const alone = multi.adapter(2);
    const p = alone.pair(0, 'q_proj');
    const pick = (t: tf.Tensor) => tf.gather(t, [0, 2]) as tf.Tensor3D;
    const solo = tf.variableGrads(
      () =>
        tf.sum(
          tf.mul(alone.asLinearAdapter().linear(ctx, pick(x), base.base(ctx)), pick(probe)),
        ) as tf.Scalar,
      [p?.a as tf.Variable, p?.b as tf.Variable],
    );
    expect(maxAbsDiff(slot(gA, 2), solo.grads[p?.a.name as string]?.dataSync() ?? [])).toBeLessThan(1e-5);
    expect(maxAbsDiff(slot(gB, 2), solo.grads[p?.b.name as string]?.dataSync() ?? [])).toBeLessThan(1e-5);
    // slices come back out as PEFT adapters
    const w = multi.adapterWeights(2);
    expect(w.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')?.shape).toEqual([
      8, 2,
    ]);
    // and a slot can be loaded from a user's current adapter
    multi.setAdapter(1, alone);
    const back = multi.adapter(1);
    expect([...(back.pair(0, 'q_proj')?.b.dataSync() ?? [])]).toEqual([...(p?.b.dataSync() ?? [])]);
    tf.dispose([x, probe, ...Object.values(grads), ...Object.values(solo.grads)]);
    hooks.dispose();
    for (const m of [alone, back, multi]) m.dispose();
  });

  it("in training with dropout, each adapter's rows get the masks its own LoRA draws on its own batch", () => {
    const config = { ...OPPU_LORA, r: 2, alpha: 4, dropout: 0.5, targetModules: ['q_proj', 'v_proj'] };
    const multi = MultiLora.create(config, TINY_DIMS, [11, 12]);
    for (const s of multi.stacksInOrder()) s.b.assign(tf.randomNormal(s.b.shape, 0, 1, 'float32', 5));
    multi.setTraining(true, 7);
    // Adapter 1 first (2 rows, its batch 2 long), then adapter 0 (1 row, 3 long); the batch is 4 long.
    const hooks = multi.asLinearAdapter([1, 1, 0], { lengths: [2, 2, 3] });
    const x = tf.randomNormal([3, 4, 8], 0, 1, 'float32', 1) as tf.Tensor3D;
    const calls = [
      { layer: 0, module: 'q_proj' },
      { layer: 0, module: 'v_proj' },
      { layer: 1, module: 'q_proj' },
    ] as const;
    const got = calls.map((ctx) => hooks.linear(ctx, x, base.base(ctx)));
    const users = [
      { adapter: 1, rows: [0, 1], length: 2 },
      { adapter: 0, rows: [2], length: 3 },
    ];
    for (const { adapter, rows, length } of users) {
      const solo = multi.adapter(adapter);
      solo.setTraining(true, 7); // as trainAdapter seeds each user's LoRA
      const mine = tf.slice(tf.gather(x, rows), [0, 0, 0], [-1, length, -1]) as tf.Tensor3D;
      calls.forEach((ctx, k) => {
        const want = solo.asLinearAdapter().linear(ctx, mine, base.base(ctx));
        const part = tf.slice(tf.gather(got[k] as tf.Tensor3D, rows), [0, 0, 0], [-1, length, -1]);
        expect(maxAbsDiff(part.dataSync(), want.dataSync()), `adapter ${adapter} call ${k}`).toBeLessThan(
          1e-5,
        );
      });
      // With another stream the masks differ (the check has teeth).
      solo.setTraining(true, 8);
      const other = solo.asLinearAdapter().linear(calls[0], mine, base.base(calls[0]));
      const part = tf.slice(tf.gather(got[0] as tf.Tensor3D, rows), [0, 0, 0], [-1, length, -1]);
      expect(maxAbsDiff(part.dataSync(), other.dataSync())).toBeGreaterThan(1e-2);
      solo.dispose();
    }
    hooks.dispose();
    // An adapter's rows are one block of one length while dropout is on.
    const call = (rows: number[], lengths?: number[]) => {
      const h = multi.asLinearAdapter(rows, lengths ? { lengths } : {});
      const xs = tf.slice(x, [0, 0, 0], [rows.length, -1, -1]) as tf.Tensor3D;
      try {
        return h.linear(calls[0], xs, base.base(calls[0]));
      } finally {
        h.dispose();
        xs.dispose();
      }
    };
    expect(() => call([0, 1, 0])).toThrow(/row 2 of adapter 0 is apart from its other rows/);
    expect(() => call([0, 0], [2, 3])).toThrow(/have lengths 2 and 3/);
    expect(() => call([0, 1], [2])).toThrow(/1 row lengths for 2 rows/);
    expect(() => call([0], [5])).toThrow(/5 long, the batch only 4/);
    expect(() => multi.setTraining(true, [1, 2, 3])).toThrow(/3 dropout seeds for 2 adapters/);
    // Without dropout (serving, evaluation) rows may come in any order.
    multi.setTraining(false);
    call([0, 1, 0]).dispose();
    tf.dispose([x, ...got]);
    multi.dispose();
  });
});
