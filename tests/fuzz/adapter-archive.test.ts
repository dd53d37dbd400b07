/**
 * Hostile adapter archives through the import path (`FsAdapterStore.import`, what `oppu import`, the playground
 * and the bot's /import call): path traversal entries, symlink entries, duplicate names, huge declared sizes,
 * compression bombs and random corruption. Each must be refused with an OppuError that names the archive entry,
 * and leave every file of the store exactly as it was.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdapterWeights, OPPU_LORA, OppuError, userId } from '@oppu/core';
import { FsAdapterStore } from '@oppu/node';
import { loraConfigToPeft } from '@oppu/trainer';
import fc from 'fast-check';
import { strToU8, unzipSync, Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseCounter, expectOppuError, FUZZ_SEED, snapshotTree } from './fuzz-kit.js';

const alice = userId('alice');
const donor = userId('donor');
const base = { name: 'oppu/tiny', hash: 'b'.repeat(64) };
/** A small limit keeps random bombs cheap; one test below uses the real 256 MiB default. */
const LIMIT = 256 * 1024;

function weights(seed: number): AdapterWeights {
  const t = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * k + i));
  return {
    config: loraConfigToPeft({ ...OPPU_LORA, targetModules: ['q_proj'] }),
    tensors: new Map([
      [
        'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
        { dtype: 'float32', shape: [8, 16], data: t(128, 31) },
      ],
      [
        'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
        { dtype: 'float32', shape: [16, 8], data: t(128, 17) },
      ],
    ]),
  };
}
const meta = {
  task: 'LaMP_7',
  baseModel: base,
  peft: { ...OPPU_LORA, targetModules: ['q_proj'] },
  createdAt: '2026-01-01T00:00:00.000Z',
} as const;

let root: string;
let store: FsAdapterStore;
/** The donor's export: a valid archive, the starting point of every hostile one. */
let good: Uint8Array;
let goodFiles: Record<string, Uint8Array>;
/** Alice's own archive, to restore her after a mutation that happened to stay valid. */
let aliceBackup: Uint8Array;
let before: Map<string, string>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-fuzz-archive-'));
  store = new FsAdapterStore({ root: join(root, 'adapters'), maxArchiveBytes: LIMIT });
  await store.put(alice, weights(1), meta);
  await store.put(alice, weights(2), { ...meta, parent: 1 });
  await store.put(donor, weights(3), meta);
  await store.put(donor, weights(4), { ...meta, parent: 1 });
  good = await store.export(donor);
  goodFiles = unzipSync(good);
  aliceBackup = await store.export(alice);
  // A valid archive goes in (and is what a harmless mutation is restored from).
  expect(await store.import(alice, aliceBackup, base)).toHaveLength(2);
  before = await snapshotTree(root);
  await store.import(alice, aliceBackup, base);
  expect(await snapshotTree(root)).toEqual(before);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Imports `archive` for alice expecting a refusal that names `names`, then checks no file changed. */
async function refused(archive: Uint8Array, names: RegExp): Promise<OppuError> {
  const e = await expectOppuError(() => store.import(alice, archive, base), names);
  expect(await snapshotTree(root)).toEqual(before);
  return e;
}

/** A zip built entry by entry, so names may repeat and entries may carry Unix modes (symlinks). */
function rawZip(
  entries: readonly { name: string; data: Uint8Array; deflate?: boolean; attrs?: number }[],
): Uint8Array {
  const chunks: Uint8Array[] = [];
  const zip = new Zip((error, data) => {
    if (error) throw error;
    chunks.push(data);
  });
  for (const e of entries) {
    const file = e.deflate === false ? new ZipPassThrough(e.name) : new ZipDeflate(e.name, { level: 6 });
    if (e.attrs !== undefined) {
      file.os = 3; // Unix: the high 16 bits of the external attributes are st_mode
      file.attrs = e.attrs;
    }
    zip.add(file);
    file.push(e.data, true);
  }
  zip.end();
  return concat(chunks);
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const goodEntries = () => Object.entries(goodFiles).map(([name, data]) => ({ name, data }));

/** Rewrites the uncompressed size of central-directory entry `index` (what unzip tools trust). */
function patchDeclaredSize(zip: Uint8Array, index: number, size: number): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  let seen = 0;
  for (let i = out.length - 22; i >= 0; i--) {
    if (view.getUint32(i, true) !== 0x06054b50) continue; // end of central directory
    let at = view.getUint32(i + 16, true);
    const count = view.getUint16(i + 10, true);
    for (let k = 0; k < count; k++) {
      if (seen === index % count) view.setUint32(at + 24, size, true);
      seen++;
      at +=
        46 + view.getUint16(at + 28, true) + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    }
    return out;
  }
  throw new Error('no end of central directory');
}

const VALID_NAME =
  /^(oppu-adapter\.json|v\d{4,9}\/(adapter_config\.json|adapter_model\.safetensors|oppu_meta\.json))$/;

const hostileName = fc.oneof(
  fc.constantFrom(
    '../evil.json',
    '../../../../tmp/oppu-pwned',
    '/etc/passwd',
    '/tmp/oppu-abs/adapter_config.json',
    'v0001/../../escape.json',
    'v0001/../v0001/adapter_config.json',
    'v0001\\adapter_config.json',
    '..\\..\\windows\\system32\\evil.dll',
    'C:\\evil\\adapter_config.json',
    'C:/evil/adapter_config.json',
    'v0001/./adapter_config.json',
    'v0001//adapter_config.json',
    './oppu-adapter.json',
    'v0001/',
    'v0001/adapter_config.json/',
    'v0001/adapter_config.json\u0000.txt',
    'v0001/adapter_conf\u0456g.json', // Cyrillic i
    'v0001/adapter_config.json\u200b', // zero-width space
    'v0001/\u202enosj.gifnoc_retpada', // right-to-left override
    '\uff56\uff10\uff10\uff10\uff11/adapter_config.json', // full-width "v0001"
    'v1/adapter_config.json',
    'V0001/adapter_config.json',
    `v0001/${'a'.repeat(5000)}.json`,
  ),
  fc
    .tuple(
      fc.constantFrom('', '../', '/', '..\\', 'v0001/', 'v0001/../', '\\\\server\\share\\'),
      fc.string({ unit: 'binary', maxLength: 40 }),
    )
    .map(([a, b]) => a + b),
);

describe('adapter archives: hostile entries are refused and the store is untouched', () => {
  it('path traversal, absolute, backslash and look-alike entry names', async () => {
    const count = new CaseCounter();
    await fc.assert(
      fc.asyncProperty(hostileName, fc.boolean(), async (name, deflate) => {
        fc.pre(!VALID_NAME.test(name) && name !== '');
        const archive = rawZip([...goodEntries(), { name, data: strToU8('{"x":1}'), deflate }]);
        await refused(archive, /^adapter archive: unexpected entry /);
        count.hit('traversal');
      }),
      { numRuns: 300, seed: FUZZ_SEED },
    );
    expect(count.report('archive entry names')).toBeGreaterThanOrEqual(250);
  });

  it('symlink entries: never followed or created, whatever the name', async () => {
    const count = new CaseCounter();
    const targets = fc.constantFrom('/etc/passwd', '../../../../etc/shadow', '../donor/v0001', '.', '/');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(goodFiles), '../link', 'v0001/link'),
        targets,
        async (name, target) => {
          const entries: { name: string; data: Uint8Array; attrs?: number }[] = goodEntries().filter(
            (e) => e.name !== name,
          );
          entries.push({ name, data: strToU8(target), attrs: (0o120777 << 16) >>> 0 });
          const e = await refused(rawZip(entries), /^(adapter archive|archive: v\d{4})/);
          count.hit(VALID_NAME.test(name) ? 'link-as-valid-name' : 'link-other-name');
          expect(e).toBeInstanceOf(OppuError);
        },
      ),
      { numRuns: 60, seed: FUZZ_SEED },
    );
    expect(count.report('archive symlink entries')).toBe(60);
  });

  it('duplicate entry names (the second copy would win in a naive extractor)', async () => {
    const count = new CaseCounter();
    const names = Object.keys(goodFiles);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...names),
        fc.uint8Array({ maxLength: 64 }),
        fc.boolean(),
        async (name, other, first) => {
          const entries = goodEntries();
          const copy = { name, data: other };
          if (first) entries.unshift(copy);
          else entries.push(copy);
          await refused(
            rawZip(entries),
            new RegExp(`^adapter archive: entry ${name.replace('.', '\\.')} appears twice`),
          );
          count.hit('duplicate');
        },
      ),
      { numRuns: 80, seed: FUZZ_SEED },
    );
    expect(count.report('archive duplicate names')).toBe(80);
  });

  it('huge declared sizes, alone or summed, are refused before inflating', async () => {
    const count = new CaseCounter();
    const entries = goodEntries();
    await fc.assert(
      fc.asyncProperty(
        fc.nat(entries.length - 1),
        fc.integer({ min: LIMIT + 1, max: 0xffffffff }),
        async (index, size) => {
          const archive = patchDeclaredSize(rawZip(entries), index, size);
          await refused(archive, /^adapter archive: declared uncompressed size exceeds the limit/);
          count.hit('one-entry');
        },
      ),
      { numRuns: 80, seed: FUZZ_SEED },
    );
    // Many entries each under the limit whose sum is over it.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 12 }), async (n) => {
        const each = Math.ceil(LIMIT / n) + 1;
        let archive = rawZip([
          ...entries,
          ...Array.from({ length: n }, (_, i) => ({
            name: `v${String(9000 + i)}/oppu_meta.json`,
            data: strToU8('{}'),
          })),
        ]);
        for (let i = 0; i < n; i++) archive = patchDeclaredSize(archive, entries.length + i, each);
        await refused(archive, /^adapter archive: declared uncompressed size exceeds the limit/);
        count.hit('summed');
      }),
      { numRuns: 20, seed: FUZZ_SEED },
    );
    expect(count.report('archive declared sizes')).toBe(100);
  });

  it('compression bombs: tiny archives that inflate past the limit, honest or lying about their size', async () => {
    const count = new CaseCounter();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: LIMIT + 1, max: 8 * LIMIT }),
        fc.constantFrom(...Object.keys(goodFiles)),
        fc.boolean(),
        async (inflated, name, lie) => {
          const entries = goodEntries().filter((e) => e.name !== name);
          entries.push({ name, data: new Uint8Array(inflated) });
          let archive = rawZip(entries);
          expect(archive.length - good.length).toBeLessThan(inflated / 100); // a real bomb: over 100:1
          if (lie) archive = patchDeclaredSize(archive, entries.length - 1, 1000);
          await refused(
            archive,
            lie
              ? /^(adapter archive: |archive: v\d{4}\/)/
              : /^adapter archive: declared uncompressed size exceeds the limit/,
          );
          count.hit(lie ? 'lying-size' : 'honest-size');
        },
      ),
      { numRuns: 40, seed: FUZZ_SEED },
    );
    expect(count.report('archive compression bombs')).toBe(40);
  });

  it('a 260 MiB bomb against the real 256 MiB default is refused in bounded memory', async () => {
    const real = new FsAdapterStore({ root: join(root, 'adapters') }); // default limit
    const chunks: Uint8Array[] = [];
    const zip = new Zip((error, data) => {
      if (error) throw error;
      chunks.push(data);
    });
    const target = 'v0001/adapter_model.safetensors';
    const kept = goodEntries().filter((e) => e.name !== target);
    for (const e of kept) {
      const f = new ZipPassThrough(e.name);
      zip.add(f);
      f.push(e.data, true);
    }
    const bomb = new ZipDeflate(target, { level: 1 });
    zip.add(bomb);
    const mib = new Uint8Array(1 << 20);
    for (let i = 0; i < 260; i++) bomb.push(mib, i === 259);
    zip.end();
    const honest = concat(chunks);
    expect(honest.length).toBeLessThan(1 << 20); // under 1 MiB on the wire
    const rss = process.memoryUsage().rss;
    for (const [archive, names] of [
      [honest, /^adapter archive: declared uncompressed size exceeds the limit of 268435456 bytes/],
      [
        patchDeclaredSize(honest, kept.length, 100),
        /^adapter archive: entry v0001\/adapter_model\.safetensors is damaged \(its CRC-32 does not match\)/,
      ],
    ] as const) {
      await expectOppuError(() => real.import(alice, archive, base), names);
      expect(await snapshotTree(root)).toEqual(before);
    }
    expect(process.memoryUsage().rss - rss).toBeLessThan(128 * 1024 * 1024);
    console.log(`[fuzz] archive 260 MiB bomb: ${honest.length} bytes on the wire, refused`);
  });

  it('random corruption: refused with a clear error, or (if harmless) imported exactly', async () => {
    const count = new CaseCounter();
    const mutation = fc.oneof(
      fc.record({
        kind: fc.constant('flip' as const),
        edits: fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
      }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(good.length - 1) }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(good.length),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        let bad: Uint8Array;
        if (m.kind === 'flip') {
          bad = good.slice();
          for (const [i, v] of m.edits) bad[i] = v;
        } else if (m.kind === 'truncate') bad = good.slice(0, m.at);
        else bad = concat([good.subarray(0, m.at), m.bytes, good.subarray(m.at)]);
        try {
          await store.import(alice, bad, base);
        } catch (error) {
          expect(error).toBeInstanceOf(OppuError);
          expect((error as OppuError).message).toMatch(/^(adapter archive|archive: v\d{4})/);
          expect(await snapshotTree(root)).toEqual(before);
          count.hit('refused');
          return;
        }
        // Accepted: then it must be the donor's adapters exactly (the change hit bytes no reader uses).
        const got = await store.export(alice);
        const files = unzipSync(got);
        for (const [name, data] of Object.entries(goodFiles)) {
          if (name.endsWith('oppu_meta.json') || name === 'oppu-adapter.json') continue;
          expect(files[name], name).toEqual(data);
        }
        await store.import(alice, aliceBackup, base);
        expect(await snapshotTree(root)).toEqual(before);
        count.hit('harmless');
      }),
      { numRuns: 400, seed: FUZZ_SEED },
    );
    expect(count.report('archive random corruption')).toBe(400);
  });
});
