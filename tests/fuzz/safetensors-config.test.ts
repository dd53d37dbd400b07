/**
 * Hostile safetensors headers and adapter_config.json files, read where a user's file first meets oppu: an
 * adapter archive's version folder, through `FsAdapterStore.import`. The metadata's checksum is made to match
 * each hostile file, so only the file's own checks stand between it and the store. Every case must be refused
 * with an OppuError naming the archive entry (and the tensor or field), and the store must be untouched.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPPU_LORA, OppuError, userId } from '@oppu/core';
import { FsAdapterStore, packAdapterArchive } from '@oppu/node';
import { loraConfigToPeft, readSafetensors, writeSafetensors } from '@oppu/trainer';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseCounter, expectOppuError, FUZZ_SEED, snapshotTree } from './fuzz-kit.js';

const alice = userId('alice');
const base = { name: 'oppu/tiny', hash: 'c'.repeat(64) };
const peft = { ...OPPU_LORA, targetModules: ['q_proj', 'v_proj'] as const };
const CONFIG = loraConfigToPeft({ ...peft, targetModules: [...peft.targetModules] });
const A = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';
const B = 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight';
const WEIGHTS = writeSafetensors(
  new Map([
    [A, { dtype: 'float32', shape: [8, 4], data: new Float32Array(32).fill(0.5) }],
    [B, { dtype: 'float32', shape: [4, 8], data: new Float32Array(32) }],
  ]),
);
const enc = (s: string) => new TextEncoder().encode(s);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let root: string;
let store: FsAdapterStore;
let before: Map<string, string>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-fuzz-st-'));
  store = new FsAdapterStore({ root: join(root, 'adapters') });
  await store.import(alice, archive(enc(JSON.stringify(CONFIG)), WEIGHTS), base); // the control goes in
  before = await snapshotTree(root);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A one-version archive whose metadata matches `weights` (so the checksum check passes). */
function archive(config: Uint8Array, weights: Uint8Array): Uint8Array {
  const meta = {
    userId: 'someone',
    version: 1,
    task: 'LaMP_7',
    baseModel: base,
    peft,
    createdAt: '2026-01-01T00:00:00.000Z',
    sha256: sha(weights),
  };
  return packAdapterArchive('someone', [{ version: 1, config, weights, meta: enc(JSON.stringify(meta)) }]);
}

async function refused(config: Uint8Array, weights: Uint8Array, names: RegExp): Promise<void> {
  await expectOppuError(() => store.import(alice, archive(config, weights), base), names);
  expect(await snapshotTree(root)).toEqual(before);
}

/** `[u64 length][header][data]` with a header given as text. */
function safetensors(header: string, data: Uint8Array, declared?: bigint): Uint8Array {
  const h = enc(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const ST_ENTRY = /^archive: v0001\/adapter_model\.safetensors: /;

describe('safetensors headers and adapter configs: refused with a clear error, store untouched', () => {
  it('hostile safetensors headers', async () => {
    const count = new CaseCounter();
    const anyJson = fc.oneof(
      fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'U8', 'BOOL', 'F8_E4M3', 'f32', 'X', ''),
      fc.array(fc.oneof(fc.integer({ min: -3, max: 64 }), fc.double(), fc.constant(2 ** 53), fc.string()), {
        maxLength: 4,
      }),
      fc.integer({ min: -10, max: 1 << 30 }),
      fc.constant(null),
      fc.string({ maxLength: 6 }),
      fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
    );
    const entry = fc.record({ dtype: anyJson, shape: anyJson, data_offsets: anyJson }, { requiredKeys: [] });
    const tensorName = fc.oneof(
      fc.constantFrom(A, B, '__proto__', 'constructor', '__metadata__', '../../etc/passwd', '', '\u0000'),
      fc.string({ maxLength: 12 }),
    );
    const header = fc.oneof(
      // A header object with hostile entries.
      fc
        .tuple(fc.dictionary(tensorName, entry, { minKeys: 1, maxKeys: 4 }), fc.nat(96))
        .map(([h, dataLength]) => ({ kind: 'entries', header: JSON.stringify(h), dataLength })),
      // Plausible tensors with offsets and shapes that do not add up.
      fc
        .tuple(
          fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 3 }),
          fc.tuple(fc.integer({ min: -4, max: 300 }), fc.integer({ min: -4, max: 300 })),
          fc.nat(256),
        )
        .map(([shape, offsets, dataLength]) => ({
          kind: 'offsets',
          header: JSON.stringify({ [A]: { dtype: 'F32', shape, data_offsets: offsets } }),
          dataLength,
        })),
      // Not an object, not JSON, not UTF-8.
      fc
        .constantFrom('[]', '"x"', '1', 'null', '{', '{"a":', ' {}', '\u00ff\u00fe', '{"__metadata__":[1]}')
        .map((h) => ({ kind: 'not-object', header: h, dataLength: 0 })),
    );
    await fc.assert(
      fc.asyncProperty(header, fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })), async (h, lie) => {
        const bytes = safetensors(h.header, new Uint8Array(h.dataLength), lie ?? undefined);
        let readable = false;
        try {
          readSafetensors(bytes);
          readable = true;
        } catch (error) {
          expect(error).toBeInstanceOf(OppuError);
        }
        // A header the reader accepts but that holds no float32 LoRA is still not an adapter.
        await refused(enc(JSON.stringify(CONFIG)), bytes, readable ? /^archive: v0001\// : ST_ENTRY);
        count.hit(readable ? `${h.kind}-readable` : h.kind);
      }),
      { numRuns: 600, seed: FUZZ_SEED },
    );
    expect(count.report('safetensors headers')).toBe(600);
  });

  it('hostile adapter_config.json files', async () => {
    const count = new CaseCounter();
    const bad = fc.oneof(
      fc.record({
        field: fc.constant('peft_type'),
        value: fc.oneof(
          fc.constantFrom('lora', 'LoRA', 'ADALORA', 'IA3', 'PROMPT_TUNING', ''),
          fc.integer(),
          fc.constant(null),
        ),
      }),
      fc.record({
        field: fc.constant('r'),
        value: fc.oneof(
          fc.integer({ max: 0 }),
          fc.double({ min: 0.1, max: 7.9, noNaN: true }),
          fc.string(),
          fc.boolean(),
        ),
      }),
      fc.record({
        field: fc.constant('lora_alpha'),
        value: fc.oneof(fc.integer({ max: 0 }), fc.string(), fc.constant([])),
      }),
      fc.record({
        field: fc.constant('lora_dropout'),
        value: fc.oneof(
          fc.double({ min: 1, max: 1e9, noNaN: true }),
          fc.double({ min: -1e9, max: -1e-9, noNaN: true }),
          fc.string(),
        ),
      }),
      fc.record({
        field: fc.constant('target_modules'),
        value: fc.oneof(
          fc.constant([]),
          fc.constantFrom('.*proj', 'q_proj'),
          fc.array(fc.constantFrom('lm_head', '../q_proj', 'Q_PROJ', 'q_proj\u200b', 'embed_tokens'), {
            minLength: 1,
            maxLength: 3,
          }),
          fc.array(fc.integer(), { minLength: 1, maxLength: 2 }),
        ),
      }),
      fc.record({
        field: fc.constantFrom('use_dora', 'fan_in_fan_out', 'lora_bias'),
        value: fc.constant(true),
      }),
      fc.record({ field: fc.constant('bias'), value: fc.constantFrom('all', 'lora_only') }),
      fc.record({
        field: fc.constantFrom('rank_pattern', 'alpha_pattern'),
        value: fc.constant({ q_proj: 4 }),
      }),
      fc.record({
        field: fc.constantFrom('layers_to_transform', 'modules_to_save', 'layer_replication'),
        value: fc.constant([0]),
      }),
      fc.record({ field: fc.constant('use_rslora'), value: fc.oneof(fc.string(), fc.integer()) }),
    );
    const whole = fc.oneof(
      fc.constantFrom('', 'null', '[]', '"LORA"', '{', '{"peft_type": "LORA",}', '\u00ef\u00bb\u00bf{}'),
      fc.string({ maxLength: 30 }).filter((s) => {
        try {
          const v = JSON.parse(s);
          return typeof v !== 'object' || v === null || Array.isArray(v);
        } catch {
          return true;
        }
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          bad.map((b) => ({ b })),
          whole.map((w) => ({ w })),
        ),
        async (c) => {
          if ('b' in c) {
            const config = { ...CONFIG, [c.b.field]: c.b.value };
            await refused(
              enc(JSON.stringify(config)),
              WEIGHTS,
              c.b.field === 'peft_type'
                ? /^archive: v0001(: |\/)adapter_config\.json: (peft_type|.*(does not match|"|is missing))/
                : new RegExp(
                    `^archive: v0001/adapter_config\\.json: .*${c.b.field === 'target_modules' ? '(target_?[mM]odules|module)' : c.b.field === 'lora_alpha' ? '(lora_alpha|alpha)' : c.b.field === 'lora_dropout' ? '(lora_dropout|dropout)' : c.b.field}`,
                  ),
            );
            count.hit(`field:${c.b.field}`);
          } else {
            const bytes =
              c.w === '\u00ef\u00bb\u00bf{}' ? new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]) : enc(c.w);
            await refused(
              bytes,
              WEIGHTS,
              /^archive: v0001\/adapter_config\.json: (not valid JSON|not a JSON object|not valid UTF-8)/,
            );
            count.hit('whole-file');
          }
        },
      ),
      { numRuns: 400, seed: FUZZ_SEED },
    );
    expect(count.report('adapter_config.json')).toBe(400);
  });
});
