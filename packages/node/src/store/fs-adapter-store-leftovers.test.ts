/**
 * What killed jobs leave beside the users' folders (`.stage-`, `.old-`, `.del-`, `.tmp-`): each belongs to exactly
 * one user, even when one id is a prefix of another (`fay0` / `fay0-x`, `-` is legal in ids), and every user's
 * abandoned leftovers are swept when a store starts, never the work of a process that is still alive.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdapterWeights } from '@oppu/core';
import { OPPU_LORA, userId } from '@oppu/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsAdapterStore } from './fs-adapter-store.js';

const fay0 = userId('fay0');
const fay0x = userId('fay0-x');
const bob = userId('bob');
const bobx = userId('bob-x');
const base = { name: 'oppu/tiny', hash: 'a'.repeat(64) };
const meta = { task: 'LaMP_2M', baseModel: base, peft: OPPU_LORA, createdAt: '2026-01-01T00:00:00.000Z' };
const A = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';
const B = 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight';

function weights(seed: number): AdapterWeights {
  return {
    config: { peft_type: 'LORA', r: 8, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] },
    tensors: new Map([
      [A, { dtype: 'float32', shape: [8, 4], data: Float32Array.from({ length: 32 }, (_, i) => seed + i) }],
      [B, { dtype: 'float32', shape: [4, 8], data: Float32Array.from({ length: 32 }, (_, i) => seed - i) }],
    ]),
  };
}
const first = async (store: FsAdapterStore, user: string) =>
  (await store.get(userId(user)))?.weights.tensors.get(A)?.data[0];

/** A pid no process has now: a child that already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid as number;
}
const stamp = (ms: number) => String(ms).padStart(15, '0');

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-leftovers-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Moves a user's folder aside as an import killed between its two renames leaves it. */
async function killedMidImport(user: string, name: string): Promise<void> {
  await rename(join(root, user), join(root, name));
}

describe('FsAdapterStore leftovers: one owner each', () => {
  for (const [style, aside] of [
    ['this release', (u: string) => `.old-${u}.${deadPid()}.${stamp(1)}.0123456789ab`],
    ['older releases', (u: string) => `.old-${u}-${stamp(1)}`],
  ] as const) {
    it(`never gives fay0 the folder fay0-x's killed import moved aside (${style} names)`, async () => {
      const store = new FsAdapterStore({ root });
      await store.put(fay0x, weights(100), meta);
      await killedMidImport('fay0-x', aside('fay0-x'));
      const restarted = new FsAdapterStore({ root });
      expect(await restarted.list(fay0)).toEqual([]);
      expect(await first(restarted, 'fay0')).toBeUndefined();
      expect(await first(restarted, 'fay0-x')).toBe(100);
      expect((await readdir(root)).sort()).toEqual(['fay0-x']);
    });

    it(`forgetting bob never deletes bob-x's only copy after a crash (${style} names)`, async () => {
      const store = new FsAdapterStore({ root });
      await store.put(bob, weights(1), meta);
      await store.put(bobx, weights(200), meta);
      await killedMidImport('bob-x', aside('bob-x'));
      // The same process goes on (no restart): forgetting bob must leave bob-x's folder alone.
      await store.delete(bob);
      expect(await store.list(bob)).toEqual([]);
      expect(await first(store, 'bob-x')).toBe(200);
      expect(await readdir(root)).toEqual(['bob-x']);
    });
  }

  it('forgetting fay0-x removes all of it and nothing of fay0, leftovers included', async () => {
    const store = new FsAdapterStore({ root });
    await store.put(fay0, weights(1), meta);
    await store.put(fay0x, weights(2), meta);
    await store.put(fay0x, weights(3), meta);
    // A killed import of fay0-x's left its stage behind, and one of fay0's left its own.
    const stageX = `.stage-fay0-x.${deadPid()}.${stamp(5)}.00000000000a`;
    const stage0 = `.stage-fay0.${process.ppid}.${stamp(5)}.00000000000b`; // a live process's: kept
    for (const s of [stageX, stage0]) await mkdir(join(root, s, 'v0001'), { recursive: true });
    await store.delete(fay0x);
    expect((await readdir(root)).sort()).toEqual([stage0, 'fay0'].sort());
    expect((await store.list(fay0)).length).toBe(1);
    expect(await store.list(fay0x)).toEqual([]);
  });

  it('imports for fay0-x never reach fay0, and the other way round', async () => {
    const store = new FsAdapterStore({ root });
    await store.put(fay0, weights(1), meta);
    await store.put(fay0x, weights(2), meta);
    const archiveX = await store.export(fay0x);
    const archive0 = await store.export(fay0);
    await store.import(fay0x, archive0, base);
    await store.import(fay0, archiveX, base);
    expect(await first(store, 'fay0')).toBe(2);
    expect(await first(store, 'fay0-x')).toBe(1);
    expect((await readdir(root)).sort()).toEqual(['fay0', 'fay0-x']);
  });
});

describe('FsAdapterStore start: every user swept, live work kept', () => {
  it("sweeps every user's abandoned leftovers on its first call, whoever the call is for", async () => {
    const store = new FsAdapterStore({ root });
    for (const [i, u] of ['ann', 'ben', 'cat', 'dan', 'eve'].entries())
      await store.put(userId(u), weights(i), meta);
    const dead = deadPid();
    const live = process.ppid;
    // ann: a version write killed half-way; ben: an import killed while staging; cat: an import killed between its
    // renames; dan: an import killed after its swap, before removing the old folder; eve: a deletion killed half-way.
    await mkdir(join(root, 'ann', `.tmp-${dead}-0123456789ab`));
    await writeFile(join(root, 'ann', `.tmp-${dead}-0123456789ab`, 'adapter_model.safetensors'), 'half');
    await mkdir(join(root, `.stage-ben.${dead}.${stamp(7)}.0123456789ab`, 'v0001'), { recursive: true });
    await mkdir(join(root, '.stage-ben-0123456789ab')); // an older release's name
    await killedMidImport('cat', `.old-cat.${dead}.${stamp(7)}.0123456789ab`);
    await mkdir(join(root, `.old-dan.${dead}.${stamp(7)}.0123456789ab`, 'v0001'), { recursive: true });
    await mkdir(join(root, `.del-eve.${dead}.${stamp(7)}.0123456789ab`, 'v0001'), { recursive: true });
    // Work of a process that is still running is left alone.
    const liveStage = `.stage-ann.${live}.${stamp(8)}.0123456789ab`;
    const liveTmp = `.tmp-${live}-0123456789ab`;
    await mkdir(join(root, liveStage));
    await mkdir(join(root, 'ben', liveTmp));

    const restarted = new FsAdapterStore({ root });
    expect(await restarted.list(userId('zed'))).toEqual([]); // a user with nothing at all
    expect((await readdir(root)).sort()).toEqual([liveStage, 'ann', 'ben', 'cat', 'dan', 'eve'].sort());
    expect(await readdir(join(root, 'ann'))).toEqual(['v0001']);
    expect((await readdir(join(root, 'ben'))).sort()).toEqual([liveTmp, 'v0001'].sort());
    expect(await first(restarted, 'cat')).toBe(2); // put back, not lost
    for (const [i, u] of ['ann', 'ben', 'cat', 'dan', 'eve'].entries()) {
      expect((await restarted.list(userId(u))).map((m) => m.version)).toEqual([1]);
      expect(await first(restarted, u)).toBe(i);
    }
  });

  it('sweeps leftovers of a crashed process that had the same pid as this one (a restarted container)', async () => {
    const store = new FsAdapterStore({ root });
    await store.put(fay0, weights(1), meta);
    const mine = `.stage-fay0.${process.pid}.${stamp(9)}.0123456789ab`;
    await mkdir(join(root, mine));
    await mkdir(join(root, 'fay0', `.tmp-${process.pid}-0123456789ab`));
    expect((await new FsAdapterStore({ root }).list(fay0)).length).toBe(1);
    expect(await readdir(root)).toEqual(['fay0']);
    expect(await readdir(join(root, 'fay0'))).toEqual(['v0001']);
  });

  it("keeps this process's own work in progress while another store instance starts", async () => {
    const store = new FsAdapterStore({ root });
    await store.put(fay0, weights(1), meta);
    const archive = await store.export(fay0);
    // Imports and writes (one at a time per user, as the service runs them) while fresh stores, each sweeping at
    // its start, keep opening on the same folder.
    const repeat = async (n: number, work: (i: number) => Promise<unknown>) => {
      for (let i = 0; i < n; i++) await work(i);
    };
    await Promise.all([
      repeat(4, () => store.import(fay0x, archive, base)),
      repeat(4, (i) => store.put(fay0, weights(10 + i), meta)),
      repeat(12, () => new FsAdapterStore({ root }).list(bob)),
    ]);
    expect((await store.list(fay0)).length).toBe(5);
    expect(await first(store, 'fay0-x')).toBe(1);
    expect((await readdir(root)).sort()).toEqual(['fay0', 'fay0-x']);
  });
});
