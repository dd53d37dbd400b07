/**
 * Hostile user ids and file names: `..`, slashes and backslashes, NUL, right-to-left overrides, zero-width
 * characters, homoglyphs, NFC/NFD variants and very long strings, through `userId()` and every service and
 * store entry point that takes a user, and through the readers that take a file name. Each is refused with
 * an OppuError that names the argument (or file), and no stored file or row changes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isUserId,
  OppuError,
  type OppuService,
  readOutputs,
  readQuestions,
  type UserId,
  userId,
} from '@oppu/core';
import { createLocalOppu, type LocalOppu } from '@oppu/node';
import { loadAdapter, readSafetensorsFile } from '@oppu/trainer';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseCounter, expectOppuError, FUZZ_SEED, snapshotTree } from './fuzz-kit.js';

const VALID = /^[A-Za-z0-9_-]{1,64}$/;

/** Strings built to look like, contain or escape from a user id. */
const hostileId: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '.',
    '..',
    '../alice',
    '../../etc/passwd',
    'alice/../bob',
    'alice/',
    '/alice',
    'alice\\bob',
    '..\\alice',
    'alice\u0000',
    '\u0000',
    'ali\u0000ce',
    'alice\u202e', // right-to-left override
    '\u202eecila',
    'ali\u200bce', // zero-width space
    'alice\u200d',
    '\ufeffalice',
    '\u0430lice', // Cyrillic a
    'alic\u0435', // Cyrillic e
    'ａｌｉｃｅ', // full-width
    'caf\u00e9', // NFC
    'cafe\u0301', // NFD
    'alice ',
    ' alice',
    'al ice',
    'alice\n',
    'alice\t',
    '%2e%2e',
    '%2F',
    'alice.json',
    '.alice',
    '~alice',
    '$HOME',
    'a'.repeat(65),
    'a'.repeat(10_000),
    '.del-alice-000000',
    '.old-alice-000000000000001',
  ),
  fc
    .tuple(
      fc.stringMatching(/^[A-Za-z0-9_-]{0,10}$/),
      fc.constantFrom(
        '/',
        '\\',
        '..',
        '\u0000',
        '\u202e',
        '\u200b',
        '\u0301',
        '.',
        ' ',
        ':',
        '*',
        '?',
        '\u2215',
        '\uff0f',
      ),
      fc.stringMatching(/^[A-Za-z0-9_-]{0,10}$/),
    )
    .map(([a, b, c]) => a + b + c),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
  fc.stringMatching(/^[A-Za-z0-9_-]{65,200}$/),
);

let root: string;
let oppu: LocalOppu;
let service: OppuService;
let before: Map<string, string>;
const alice = userId('alice');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-fuzz-ids-'));
  // The real local service on the embedded model; nothing here trains or generates.
  oppu = await createLocalOppu({ home: join(root, 'home'), task: 'LaMP_7', onLog: () => {} });
  service = oppu.service;
  await service.addItems(alice, [{ id: 'a1', text: 'alice wrote this' }]);
  before = await snapshotTree(join(root, 'home'));
});
afterAll(async () => {
  await oppu?.close();
  await rm(root, { recursive: true, force: true });
});

describe('hostile user ids and file names', () => {
  it('userId() accepts exactly 1-64 of [A-Za-z0-9_-] and names the argument otherwise', () => {
    const count = new CaseCounter();
    fc.assert(
      fc.property(fc.oneof(hostileId, fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/)), (s) => {
        if (VALID.test(s)) {
          expect(userId(s, 'body.id')).toBe(s);
          count.hit('valid');
          return;
        }
        expect(isUserId(s)).toBe(false);
        const e = (() => {
          try {
            userId(s, 'body.id');
          } catch (error) {
            return error;
          }
          return undefined;
        })();
        expect(e).toBeInstanceOf(OppuError);
        expect((e as OppuError).code).toBe('invalid_user_id');
        expect((e as OppuError).message).toMatch(
          /^body\.id: ".*" is not a valid user id \(use 1-64 characters/s,
        );
        // The echoed value is bounded (80 characters, JSON-escaped: NUL and controls are not printed raw).
        expect((e as OppuError).message.length).toBeLessThan(600);
        expect((e as OppuError).message).not.toContain('\u0000');
        count.hit('refused');
      }),
      { numRuns: 3000, seed: FUZZ_SEED },
    );
    // Values that are not strings at all.
    for (const v of [undefined, null, 42, true, ['alice'], { id: 'alice' }, new String('alice')]) {
      expect(() => userId(v, 'user')).toThrow(OppuError);
      count.hit('not-a-string');
    }
    expect(count.report('user ids: userId()')).toBe(3007);
  });

  it('every service and store entry point refuses them before touching a file or row', async () => {
    const count = new CaseCounter();
    const archive = new Uint8Array([0x50, 0x4b, 5, 6, ...new Array<number>(18).fill(0)]); // an empty zip
    const calls: Record<string, (u: UserId) => unknown> = {
      addItems: (u) => service.addItems(u, [{ id: 'x', text: 'leak' }]),
      removeItems: (u) => service.removeItems(u, ['a1']),
      items: (u) => service.items(u),
      profile: (u) => service.profile(u),
      train: (u) => service.train(u),
      ask: (u) =>
        service.ask(u, 'Paraphrase the following tweet without any explanation before or after it: hi'),
      search: (u) => service.search(u, 'alice'),
      versions: (u) => service.versions(u),
      rollback: (u) => service.rollback(u, 1),
      exportAdapter: (u) => service.exportAdapter(u),
      importAdapter: (u) => service.importAdapter(u, archive),
      forget: (u) => service.forget(u),
      pendingJobs: (u) => service.pendingJobs(u),
      'adapters.list': (u) => oppu.adapters.list(u),
      'adapters.get': (u) => oppu.adapters.get(u),
      'adapters.delete': (u) => oppu.adapters.delete(u),
      'adapters.export': (u) => oppu.adapters.export(u),
      'adapters.import': (u) => oppu.adapters.import(u, archive),
      'history.add': (u) => oppu.history.add(u, [{ id: 'x', text: 'leak' }]),
      'history.list': (u) => oppu.history.list(u),
      'history.forget': (u) => oppu.history.forget(u),
    };
    await fc.assert(
      fc.asyncProperty(
        hostileId.filter((s) => !VALID.test(s)),
        fc.constantFrom(...Object.keys(calls)),
        async (id, name) => {
          const e = await expectOppuError(() => calls[name]!(id as UserId), /is not a valid user id/);
          expect(e.code).toBe('invalid_user_id');
          expect(e.message).toMatch(/^(user|users|userId)(: | )/);
          count.hit(name);
        },
      ),
      { numRuns: 600, seed: FUZZ_SEED },
    );
    expect(await snapshotTree(join(root, 'home'))).toEqual(before);
    expect(await service.items(alice)).toEqual([{ id: 'a1', text: 'alice wrote this' }]);
    expect(count.report('user ids: service and store APIs')).toBe(600);
  });

  it('file names with .., NUL, unicode tricks or over-long parts: readers say which file', async () => {
    const count = new CaseCounter();
    const readers: Record<string, (p: string) => Promise<unknown>> = {
      readQuestions: (p) => readQuestions(p),
      readOutputs: (p) => readOutputs(p),
      readSafetensorsFile: (p) => readSafetensorsFile(p),
      loadAdapter: (p) => loadAdapter(p),
    };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          hostileId.map((s) => join(root, 'missing', s)),
          hostileId.map((s) => `../../../../${s}`),
          fc.constantFrom(
            '\u0000',
            `${root}/\u0000/q.json`,
            `${root}/${'x'.repeat(300)}.json`,
            `${root}/home`,
          ),
        ),
        fc.constantFrom(...Object.keys(readers)),
        async (path, name) => {
          const e = await expectOppuError(() => readers[name]!(path), /(no such file|cannot read)/);
          // The file is named: its base name (or the whole path) leads or appears in the message.
          expect(e.message.length).toBeGreaterThan(10);
          count.hit(name);
        },
      ),
      { numRuns: 400, seed: FUZZ_SEED },
    );
    expect(await snapshotTree(join(root, 'home'))).toEqual(before);
    expect(count.report('file names: LaMP, safetensors and adapter readers')).toBe(400);
  });
});
