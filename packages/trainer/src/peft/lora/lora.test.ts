import '@tensorflow/tfjs-backend-cpu';
import { OPPU_LORA, OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleShape } from '../model-dims.js';
import { maxAbsDiff, TINY_DIMS, VariableBaseWeights } from '../test-helpers.js';
import { loraScaling } from './config.js';
import { LoraModel } from './model.js';

// Before collection: describe bodies build tensors, and importing the LoRA layer registers the wasm backend too
// (its fused kernel), which would otherwise be the default.
await tf.setBackend('cpu');
beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('LoRA', () => {
  const base = new VariableBaseWeights(TINY_DIMS, 1);
  afterAll(() => base.dispose());

  it('initialises A like PEFT (kaiming-uniform, bound 1/sqrt(in)) and B to zeros, reproducibly per seed', () => {
    const lora = new LoraModel({ ...OPPU_LORA, r: 4 }, TINY_DIMS, { seed: 3 });
    const p = lora.pair(1, 'v_proj');
    expect(p?.a.shape).toEqual([8, 4]);
    expect(p?.b.shape).toEqual([4, 4]); // v_proj out = 2 kv heads * head dim 2
    const a = p?.a.dataSync() as Float32Array;
    const bound = 1 / Math.sqrt(8);
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(bound / 2);
    expect([...(p?.b.dataSync() ?? [])].every((v) => v === 0)).toBe(true);
    const again = new LoraModel({ ...OPPU_LORA, r: 4 }, TINY_DIMS, { seed: 3 });
    const other = new LoraModel({ ...OPPU_LORA, r: 4 }, TINY_DIMS, { seed: 4 });
    expect([...(again.pair(1, 'v_proj')?.a.dataSync() ?? [])]).toEqual([...a]);
    expect(maxAbsDiff(other.pair(1, 'v_proj')?.a.dataSync() ?? [], a)).toBeGreaterThan(0);
    expect(maxAbsDiff(lora.pair(0, 'v_proj')?.a.dataSync() ?? [], a)).toBeGreaterThan(0); // per-layer streams
    expect(lora.numParameters()).toBe(2 * (8 * 4 + 4 * 8 + 8 * 4 + 4 * 4));
    for (const l of [lora, again, other]) l.dispose();
  });

  it('adds scaling·x·A·B to the frozen projection (alpha/r, or alpha/sqrt(r) with rsLoRA)', () => {
    expect(loraScaling({ r: 8, alpha: 16 })).toBe(2);
    expect(loraScaling({ r: 16, alpha: 8, rslora: true })).toBe(2);
    const lora = new LoraModel(
      { method: 'lora', r: 2, alpha: 6, dropout: 0, targetModules: ['q_proj'] },
      TINY_DIMS,
      {
        seed: 1,
      },
    );
    const p = lora.pair(0, 'q_proj');
    p?.b.assign(tf.randomNormal([2, 8], 0, 1, 'float32', 9));
    const ctx = { layer: 0, module: 'q_proj' } as const;
    const x = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 5) as tf.Tensor3D;
    const y = lora.asLinearAdapter().linear(ctx, x, base.base(ctx));
    // by hand: y[i] = x[i]·W + 3 · x[i]·A·B
    const X = x.arraySync().flat();
    const W = base.getWeight(ctx).arraySync();
    const A = p?.a.arraySync() as number[][];
    const B = p?.b.arraySync() as number[][];
    const want = X.map((row) =>
      Array.from({ length: 8 }, (_, o) => {
        let s = 0;
        for (let i = 0; i < 8; i++) s += (row[i] as number) * (W[i]?.[o] as number);
        let d = 0;
        for (let k = 0; k < 2; k++) {
          let h = 0;
          for (let i = 0; i < 8; i++) h += (row[i] as number) * (A[i]?.[k] as number);
          d += h * (B[k]?.[o] as number);
        }
        return s + 3 * d;
      }),
    );
    expect(maxAbsDiff(y.dataSync(), want.flat())).toBeLessThan(1e-5);
    // a module without an adapter, or a disabled adapter, is the base projection exactly
    const kctx = { layer: 0, module: 'k_proj' } as const;
    const yk = lora.asLinearAdapter().linear(kctx, x, base.base(kctx));
    expect([...yk.dataSync()]).toEqual([...base.base(kctx)(x).dataSync()]);
    lora.setEnabled(false);
    expect([...lora.asLinearAdapter().linear(ctx, x, base.base(ctx)).dataSync()]).toEqual([
      ...base.base(ctx)(x).dataSync(),
    ]);
    tf.dispose([x, y, yk]);
    lora.dispose();
  });

  it('drops LoRA inputs only in training, reproducibly for a seed', () => {
    const lora = new LoraModel(
      { method: 'lora', r: 2, alpha: 2, dropout: 0.5, targetModules: ['q_proj'] },
      TINY_DIMS,
    );
    lora.pair(0, 'q_proj')?.b.assign(tf.ones([2, 8]));
    const ctx = { layer: 0, module: 'q_proj' } as const;
    const x = tf.ones([1, 4, 8]) as tf.Tensor3D;
    const run = () => lora.asLinearAdapter().linear(ctx, x, base.base(ctx)).dataSync();
    const evalA = run();
    expect([...run()]).toEqual([...evalA]);
    lora.setTraining(true, 7);
    const t1 = run();
    const t2 = run();
    lora.setTraining(true, 7);
    expect([...run()]).toEqual([...t1]);
    expect(maxAbsDiff(t1, t2)).toBeGreaterThan(0);
    expect(maxAbsDiff(t1, evalA)).toBeGreaterThan(0);
    x.dispose();
    lora.dispose();
  });

  it('merges into the base and unmerges back to 1e-6; merged output equals adapter output', () => {
    const lora = new LoraModel(
      { ...OPPU_LORA, r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj', 'down_proj'] },
      TINY_DIMS,
      { seed: 2 },
    );
    for (const p of lora.allPairs()) p.b.assign(tf.randomNormal(p.b.shape, 0, 1, 'float32', 3));
    const before = base.snapshot();
    const ctx = { layer: 1, module: 'down_proj' } as const;
    const x = tf.randomNormal([1, 2, 12], 0, 1, 'float32', 1) as tf.Tensor3D;
    const withAdapter = lora.asLinearAdapter().linear(ctx, x, base.base(ctx)).dataSync();
    lora.merge(base);
    expect(lora.isMerged).toBe(true);
    expect(
      maxAbsDiff(base.getWeight(ctx).dataSync(), before.get('1.down_proj') as Float32Array),
    ).toBeGreaterThan(1e-3);
    // merged: linear passes through, and the base alone now gives the adapted output
    expect(
      maxAbsDiff(lora.asLinearAdapter().linear(ctx, x, base.base(ctx)).dataSync(), withAdapter),
    ).toBeLessThan(1e-5);
    expect(() => lora.merge(base)).toThrow(OppuError);
    lora.unmerge(base);
    for (const [k, w] of base.snapshot())
      expect(maxAbsDiff(w, before.get(k) as Float32Array), k).toBeLessThan(1e-6);
    x.dispose();
    lora.dispose();
  });

  it('writes PEFT names and shapes and loads them back exactly', () => {
    const lora = new LoraModel({ ...OPPU_LORA, r: 4 }, TINY_DIMS, { seed: 5 });
    for (const p of lora.allPairs()) p.b.assign(tf.randomNormal(p.b.shape, 0, 1, 'float32', 6));
    const w = lora.toWeights({ baseModelNameOrPath: 'oppu/tiny' });
    const names = [...w.tensors.keys()].sort();
    expect(names).toEqual(
      [0, 1].flatMap((l) =>
        ['q_proj', 'v_proj'].flatMap((m) => [
          `base_model.model.model.layers.${l}.self_attn.${m}.lora_A.weight`,
          `base_model.model.model.layers.${l}.self_attn.${m}.lora_B.weight`,
        ]),
      ),
    );
    expect(w.tensors.get('base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight')?.shape).toEqual([
      4, 8,
    ]);
    expect(w.tensors.get('base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight')?.shape).toEqual([
      moduleShape(TINY_DIMS, 'v_proj')[1],
      4,
    ]);
    // [r, in] is A transposed
    const a = lora.pair(0, 'q_proj')?.a.arraySync() as number[][];
    const saved = w.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')
      ?.data as Float32Array;
    expect(saved[1 * 8 + 3]).toBe(a[3]?.[1]);
    const back = LoraModel.fromWeights(w, TINY_DIMS);
    for (const p of lora.allPairs()) {
      const q = back.pair(p.layer, p.module);
      expect([...(q?.a.dataSync() ?? [])]).toEqual([...p.a.dataSync()]);
      expect([...(q?.b.dataSync() ?? [])]).toEqual([...p.b.dataSync()]);
    }
    back.dispose();
    lora.dispose();
  });

  it('refuses weights for another model or config with a clear error', () => {
    const lora = new LoraModel({ ...OPPU_LORA, r: 4 }, TINY_DIMS, { seed: 5 });
    const w = lora.toWeights();
    expect(() => LoraModel.fromWeights(w, { ...TINY_DIMS, hiddenSize: 16 }, 'u1/v3')).toThrow(
      /u1\/v3: tensor "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" has shape \[4, 8\], this model needs \[4, 16\]/,
    );
    expect(() => LoraModel.fromWeights(w, { ...TINY_DIMS, numLayers: 3 })).toThrow(
      /layers.2.self_attn.q_proj.lora_A.weight" is missing/,
    );
    expect(() => LoraModel.fromWeights(w, { ...TINY_DIMS, numLayers: 1 })).toThrow(
      /unexpected tensor "base_model.model.model.layers.1/,
    );
    expect(() => LoraModel.fromWeights({ ...w, config: { ...w.config, use_dora: true } }, TINY_DIMS)).toThrow(
      /"use_dora" = true is not supported/,
    );
    expect(() =>
      LoraModel.fromWeights({ ...w, config: { ...w.config, target_modules: 'q.*' } }, TINY_DIMS),
    ).toThrow(/regular expression/);
    expect(() => new LoraModel({ ...OPPU_LORA, targetModules: ['qkv'] }, TINY_DIMS)).toThrow(
      /"qkv" is not a projection/,
    );
    lora.dispose();
  });

  it('leaks no tensors', () => {
    const n = tf.memory().numTensors;
    const lora = new LoraModel(OPPU_LORA, TINY_DIMS, { seed: 1 });
    const ctx = { layer: 0, module: 'q_proj' } as const;
    const x = tf.ones([1, 2, 8]) as tf.Tensor3D;
    lora.asLinearAdapter().linear(ctx, x, base.base(ctx)).dispose();
    lora.merge(base);
    lora.unmerge(base);
    LoraModel.fromWeights(lora.toWeights(), TINY_DIMS).dispose();
    lora.dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(n);
  });
});
