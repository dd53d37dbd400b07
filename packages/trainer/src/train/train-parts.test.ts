import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW } from './adamw.js';
import { epochBatches, fitExample, makeBatch, type TrainingExample } from './batching.js';
import { clipGradNorm } from './clip.js';
import { maskedCrossEntropyRows, maskedCrossEntropySum } from './masked-loss.js';
import { createRng } from './rng.js';
import { cosineSchedule, linearWarmupLr, warmupSteps } from './schedule.js';
import { withEos } from './train-adapter.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('AdamW', () => {
  it('matches torch.optim.AdamW step by step (decoupled decay, bias correction)', () => {
    // Expected values: torch's AdamW algorithm (docs pseudo-code) run by hand in float64:
    // p=[1,-2], lr 0.1, wd 0.01, betas (0.9, 0.999), eps 1e-8, grads [.5,.3], [-.2,.1], [.05,-.4]
    const p = tf.variable(tf.tensor1d([1, -2]));
    const opt = new AdamW([p], { weightDecay: 0.01 });
    const want = [
      [0.899, -2.098],
      [0.8635404, -2.1830084],
      [0.8301648, -2.1724284],
    ];
    const grads = [
      [0.5, 0.3],
      [-0.2, 0.1],
      [0.05, -0.4],
    ];
    grads.forEach((g, i) => {
      const gt = tf.tensor1d(g);
      opt.apply([gt], 0.1);
      gt.dispose();
      const got = p.dataSync();
      expect(got[0]).toBeCloseTo(want[i]?.[0] as number, 5);
      expect(got[1]).toBeCloseTo(want[i]?.[1] as number, 5);
    });
    expect(opt.step).toBe(3);
    const n = tf.memory().numTensors;
    const g = tf.tensor1d([1, 1]);
    for (let i = 0; i < 10; i++) opt.apply([g], 0.01);
    g.dispose();
    expect(tf.memory().numTensors).toBe(n);
    opt.dispose();
    p.dispose();
  });

  it('with zero gradient only decays the weights (decoupled)', () => {
    const p = tf.variable(tf.tensor1d([2]));
    const opt = new AdamW([p], { weightDecay: 0.1 });
    const z = tf.zeros([1]);
    opt.apply([z], 0.5);
    expect(p.dataSync()[0]).toBeCloseTo(2 * (1 - 0.05), 6);
    tf.dispose([z, p]);
    opt.dispose();
  });
});

describe('AdamW parameter groups and state', () => {
  it('decays each variable by its own weight decay (0: not decayed)', () => {
    const a = tf.variable(tf.tensor1d([2]));
    const b = tf.variable(tf.tensor1d([2]));
    const opt = new AdamW([a, b], { weightDecay: [0.1, 0] });
    const z = tf.zeros([1]);
    opt.apply([z, z], 0.5);
    expect(a.dataSync()[0]).toBeCloseTo(2 * (1 - 0.05), 6);
    expect(b.dataSync()[0]).toBe(2);
    expect(() => new AdamW([a, b], { weightDecay: [0.1] })).toThrow(
      /weightDecay has 1 values for 2 variables/,
    );
    tf.dispose([z, a, b]);
    opt.dispose();
  });

  it('resumes from exportState to the very same weights as an uninterrupted run', () => {
    const grads = [
      [0.5, 0.3],
      [-0.2, 0.1],
      [0.05, -0.4],
      [0.3, 0.3],
    ];
    const run = (resumeAt?: number, restore = true) => {
      const p = tf.variable(tf.tensor1d([1, -2]));
      let opt = new AdamW([p], { weightDecay: 0.01, beta2: 0.95 });
      grads.forEach((g, i) => {
        if (i === resumeAt) {
          const state = opt.exportState();
          opt.dispose();
          opt = new AdamW([p], { weightDecay: 0.01, beta2: 0.95 });
          if (restore) opt.importState(state);
        }
        const gt = tf.tensor1d(g);
        opt.apply([gt], 0.1);
        gt.dispose();
      });
      const out = Array.from(p.dataSync());
      opt.dispose();
      p.dispose();
      return out;
    };
    const straight = run();
    expect(run(2)).toEqual(straight);
    expect(run(2, false)).not.toEqual(straight); // fresh moments and step 0: a lost state shows
    const p = tf.variable(tf.tensor1d([1, -2]));
    const opt = new AdamW([p], { weightDecay: 0.01 });
    expect(() => opt.importState({ step: 1, m: [], v: [] })).toThrow(/moments of variable 0/);
    opt.dispose();
    p.dispose();
  });
});

describe('cosine schedule with warm-up (pretraining)', () => {
  it('rises linearly to the peak, then follows a half cosine down to peak * minRatio', () => {
    expect(cosineSchedule(0, 100, 10, 1)).toBeCloseTo(0.1, 12);
    expect(cosineSchedule(9, 100, 10, 1)).toBeCloseTo(1, 12);
    expect(cosineSchedule(10, 100, 10, 1)).toBeCloseTo(1, 12);
    expect(cosineSchedule(55, 100, 10, 1)).toBeCloseTo(0.1 + 0.9 * 0.5, 12); // half way: the mean
    expect(cosineSchedule(100, 100, 10, 1)).toBeCloseTo(0.1, 12);
    expect(cosineSchedule(500, 100, 10, 2e-3, 0.2)).toBeCloseTo(4e-4, 12);
  });
});

describe('linear schedule with warm-up (HF get_linear_schedule_with_warmup)', () => {
  it('rises from 0 over the warm-up then decays to 0', () => {
    expect(warmupSteps(20, 0.1)).toBe(2);
    expect(warmupSteps(25, 0.1)).toBe(3); // ceil
    const lrs = Array.from({ length: 10 }, (_, s) => linearWarmupLr(1, s, 2, 10));
    expect(lrs).toEqual([0, 0.5, 1, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8]);
    expect(linearWarmupLr(1e-4, 0, 0, 4)).toBe(1e-4);
    expect(linearWarmupLr(1, 12, 2, 10)).toBe(0);
  });
});

describe('clip_grad_norm_', () => {
  it('scales every gradient by max/(norm+1e-6) when the global norm is over the limit', () => {
    const a = tf.tensor1d([3, 0]);
    const b = tf.tensor2d([[0, 4]]);
    const { grads, norm } = clipGradNorm([a, b], 1);
    expect(norm).toBeCloseTo(5, 6);
    const c = 1 / (5 + 1e-6);
    expect(grads[0]?.dataSync()[0]).toBeCloseTo(3 * c, 6);
    expect(grads[1]?.dataSync()[1]).toBeCloseTo(4 * c, 6);
    const under = clipGradNorm([a, b], 10);
    expect([...(under.grads[0]?.dataSync() ?? [])]).toEqual([3, 0]);
    tf.dispose([a, b, ...grads, ...under.grads]);
  });
});

describe('masked loss', () => {
  it('sums -log p(target) over answer positions only (kernel and plain-tf reference agree)', () => {
    // one row, 3 positions, vocab 2; mask picks positions 1 and 2
    const logits = tf.tensor3d([
      [
        [0, 0],
        [Math.log(3), 0],
        [0, Math.log(4)],
      ],
    ]);
    const targets = tf.tensor2d([[1, 0, 1]], undefined, 'int32');
    const mask = tf.tensor2d([[0, 1, 1]]);
    const loss = maskedCrossEntropySum(logits, targets, mask, 2);
    const rows = maskedCrossEntropyRows(logits, targets, mask);
    // -log(3/4) - log(4/5)
    const want = -Math.log(0.75) - Math.log(0.8);
    expect(loss.dataSync()[0]).toBeCloseTo(want, 5);
    expect(rows.dataSync()[0]).toBeCloseTo(want, 5);
    tf.dispose([logits, targets, mask, loss, rows]);
  });
});

describe('batching', () => {
  const ex = (p: number, a: number, start = 1): TrainingExample => ({
    prompt: Array.from({ length: p }, (_, i) => start + i),
    answer: Array.from({ length: a }, (_, i) => 100 + i),
  });

  it('shifts targets, masks the prompt and the padding', () => {
    const b = makeBatch([ex(2, 2), ex(1, 1)], [0, 1], 64, 0);
    expect(b.length).toBe(3);
    expect([...b.inputs]).toEqual([1, 2, 100, 1, 0, 0]);
    expect([...b.targets]).toEqual([2, 100, 101, 100, 0, 0]);
    expect([...b.mask]).toEqual([0, 1, 1, 1, 0, 0]);
    expect(b.answerTokens).toBe(3);
  });

  it('appends EOS to answers when asked (OPPU trains on prompt + answer + eos)', () => {
    expect(withEos([ex(1, 2)], 0)).toEqual([{ prompt: [1], answer: [100, 101, 0] }]);
    expect(withEos([ex(1, 2)], undefined)).toEqual([ex(1, 2)]);
  });

  it('truncates the prompt from the left first, keeping the answer', () => {
    expect(fitExample(ex(5, 2), 4)).toEqual({ ids: [4, 5, 100, 101], answerStart: 2 });
    expect(fitExample(ex(5, 6), 4)).toEqual({ ids: [5, 100, 101, 102], answerStart: 1 });
  });

  it('groups by length, is seeded, and covers every example once per epoch', () => {
    const examples = Array.from({ length: 23 }, (_, i) => ex(1 + ((i * 7) % 11), 1));
    const a = epochBatches(examples, 4, createRng(1));
    const b = epochBatches(examples, 4, createRng(1));
    const c = epochBatches(examples, 4, createRng(2));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.flat().sort((x, y) => x - y)).toEqual(examples.map((_, i) => i));
    expect(a.length).toBe(6);
    const lens = a.flat().map((i) => (examples[i] as TrainingExample).prompt.length);
    expect(lens).toEqual([...lens].sort((x, y) => y - x)); // one mega-batch: sorted, longest first
  });
});
