/**
 * Hostile LaMP files through @oppu/core's reader: questions files (`readQuestions`, with the task's input and
 * profile rules) and outputs files (`readOutputs`). Every broken file gets an OppuError that starts with the
 * file's name and, for an item, names the item and field; the user's stored history is what an import
 * (read, then add the profiles) left before, byte for byte.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type HistoryItem,
  LAMP_TASK_FACTS,
  OppuError,
  readOutputs,
  readQuestions,
  synthesize,
  userId,
} from '@oppu/core';
import { HistoryStore } from '@oppu/retriever';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseCounter, expectOppuError, FUZZ_SEED, snapshotTree } from './fuzz-kit.js';

const TASK = 'LaMP_2M';
const data = synthesize({ task: TASK, users: 2, items: 4, queries: 2, seed: 9 });
const QUESTIONS = data.questions as unknown as Record<string, unknown>[];
const OUTPUTS = data.outputs;
const FIELDS = LAMP_TASK_FACTS[TASK].profileFields;
const alice = userId('alice');
const importer = userId('importer');

let root: string;
let store: HistoryStore;
let before: Map<string, string>;
let rowsBefore: HistoryItem[];
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'oppu-fuzz-lamp-'));
  store = new HistoryStore(join(root, 'home', 'history.sqlite'));
  await store.add(alice, [{ id: 'a1', description: 'a quiet film about a lighthouse', tag: 'drama' }]);
  rowsBefore = await store.list(alice);
  before = await snapshotTree(join(root, 'home'));
});
afterAll(async () => {
  store?.close();
  await rm(root, { recursive: true, force: true });
});

/** What an import does: read and validate the whole file, then add every profile item to the user. */
async function importQuestions(path: string): Promise<number> {
  const questions = await readQuestions(path, { task: TASK });
  const items = new Map<string, HistoryItem>();
  for (const q of questions) for (const it of q.profile) if (!items.has(it.id)) items.set(it.id, it);
  await store.add(importer, [...items.values()]);
  await store.forget(importer);
  before = await snapshotTree(join(root, 'home'));
  return questions.length;
}

async function fileWith(content: string | Uint8Array): Promise<{ path: string; name: string }> {
  const name = `q${n++}.json`;
  const path = join(root, name);
  await writeFile(path, content);
  return { path, name };
}

async function storeUnchanged(): Promise<void> {
  expect(await store.list(alice)).toEqual(rowsBefore);
  expect(await snapshotTree(join(root, 'home'))).toEqual(before);
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** JSON values of the wrong type for a field that wants a string. */
const notAString = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.constant({}),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.record({ text: fc.string() }),
);

type Corruption =
  | { kind: 'drop'; q: number; field: 'id' | 'input' | 'profile' }
  | { kind: 'type'; q: number; field: 'id' | 'input' | 'profile' | 'user_id'; value: unknown }
  | { kind: 'item-not-object'; q: number; j: number; value: unknown }
  | { kind: 'item-drop'; q: number; j: number; field: string }
  | { kind: 'item-type'; q: number; j: number; field: string; value: unknown }
  | { kind: 'dup-question'; q: number }
  | { kind: 'dup-item'; q: number; j: number }
  | { kind: 'input-mismatch'; q: number; input: string }
  | { kind: 'question-not-object'; q: number; value: unknown };

const qIndex = fc.nat(QUESTIONS.length - 1);
const jIndex = fc.nat(1);
const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({
    kind: fc.constant('drop' as const),
    q: qIndex,
    field: fc.constantFrom('id', 'input', 'profile'),
  }),
  fc.record({
    kind: fc.constant('type' as const),
    q: qIndex,
    field: fc.constantFrom('id', 'input', 'profile', 'user_id'),
    value: notAString,
  }),
  fc.record({
    kind: fc.constant('item-not-object' as const),
    q: qIndex,
    j: jIndex,
    value: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 })),
  }),
  fc.record({
    kind: fc.constant('item-drop' as const),
    q: qIndex,
    j: jIndex,
    field: fc.constantFrom('id', ...FIELDS),
  }),
  fc.record({
    kind: fc.constant('item-type' as const),
    q: qIndex,
    j: jIndex,
    field: fc.constantFrom('id', ...FIELDS, 'date'),
    value: notAString,
  }),
  fc.record({
    kind: fc.constant('dup-question' as const),
    q: fc.integer({ min: 1, max: QUESTIONS.length - 1 }),
  }),
  fc.record({ kind: fc.constant('dup-item' as const), q: qIndex, j: fc.constant(1) }),
  fc.record({
    kind: fc.constant('input-mismatch' as const),
    q: qIndex,
    input: fc.string({ maxLength: 200 }),
  }),
  fc.record({
    kind: fc.constant('question-not-object' as const),
    q: qIndex,
    value: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant([])),
  }),
);

/** The corrupted file and the message its error must match. */
function corrupt(c: Corruption, name: string): { json: unknown[]; expected: RegExp } {
  const qs = JSON.parse(JSON.stringify(QUESTIONS)) as Record<string, unknown>[]; // no shared profiles
  const q = qs[c.q]!;
  const at = `^${esc(name)}: item ${c.q}`;
  const withId = `${at} \\(id "${esc(String(q.id))}"\\)`;
  const profile = q.profile as Record<string, unknown>[];
  switch (c.kind) {
    case 'drop':
      delete q[c.field];
      return {
        json: qs,
        expected: new RegExp(`${c.field === 'id' ? at : withId}: has no "${c.field}" field`),
      };
    case 'type':
      fc.pre(!(c.field === 'profile' && Array.isArray(c.value))); // an array is a profile's right type
      q[c.field] = c.value;
      return {
        json: qs,
        expected: new RegExp(`${c.field === 'id' ? at : withId}: "${c.field}" is .*expected a`),
      };
    case 'item-not-object':
      profile[c.j] = c.value as Record<string, unknown>;
      return { json: qs, expected: new RegExp(`${withId}: profile\\[${c.j}\\] is .*expected an object`) };
    case 'item-drop':
      delete profile[c.j]![c.field];
      return { json: qs, expected: new RegExp(`${withId}: profile\\[${c.j}\\] has no "${c.field}" field`) };
    case 'item-type':
      profile[c.j]![c.field] = c.value;
      return {
        json: qs,
        expected: new RegExp(`${withId}: profile\\[${c.j}\\] field "${c.field}" is .*expected a string`),
      };
    case 'dup-question':
      q.id = qs[c.q - 1]!.id;
      return {
        json: qs,
        expected: new RegExp(
          `${at} \\(id "${esc(String(q.id))}"\\): the id is already used by item ${c.q - 1}`,
        ),
      };
    case 'dup-item':
      profile[1]!.id = profile[0]!.id;
      return { json: qs, expected: new RegExp(`${withId}: profile\\[1\\] repeats id`) };
    case 'input-mismatch':
      fc.pre(!/^\s*Which tag does this movie relate to/.test(c.input));
      q.input = c.input;
      return { json: qs, expected: new RegExp(`${withId}: .* is not a ${TASK} input`, 's') };
    case 'question-not-object':
      qs[c.q] = c.value as Record<string, unknown>;
      return { json: qs, expected: new RegExp(`${at}: is .*expected an object \\{id, input, profile\\}`) };
  }
}

describe('LaMP files: hostile input gets a clear error and the store is untouched', () => {
  it('the unmodified files read (the control)', async () => {
    const { path } = await fileWith(JSON.stringify(QUESTIONS));
    expect(await importQuestions(path)).toBe(QUESTIONS.length);
    const out = await fileWith(JSON.stringify(OUTPUTS));
    expect((await readOutputs(out.path)).golds).toHaveLength(OUTPUTS.golds.length);
  });

  it('questions files with one field broken name the file, item, id and field', async () => {
    const count = new CaseCounter();
    await fc.assert(
      fc.asyncProperty(corruption, async (c) => {
        const name = `q${n}.json`;
        const { json, expected } = corrupt(c, name);
        const { path } = await fileWith(JSON.stringify(json));
        await expectOppuError(() => importQuestions(path), expected);
        await storeUnchanged();
        count.hit(c.kind);
      }),
      { numRuns: 400, seed: FUZZ_SEED },
    );
    expect(count.report('LaMP questions (structured)')).toBeGreaterThanOrEqual(380);
  });

  it('questions files with random bytes changed, cut or inserted: a clear error or a valid read', async () => {
    const count = new CaseCounter();
    const text = new TextEncoder().encode(JSON.stringify(QUESTIONS, null, 1));
    const mutation = fc.oneof(
      fc.record({
        kind: fc.constant('flip' as const),
        edits: fc.array(fc.tuple(fc.nat(text.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
      }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(text.length - 1) }),
      fc.record({
        kind: fc.constant('prefix' as const),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        let bytes: Uint8Array;
        if (m.kind === 'flip') {
          bytes = text.slice();
          for (const [i, v] of m.edits) bytes[i] = v;
        } else if (m.kind === 'truncate') bytes = text.slice(0, m.at);
        else bytes = new Uint8Array([...m.bytes, ...text]);
        const { path, name } = await fileWith(bytes);
        try {
          const read = await importQuestions(path);
          expect(read).toBe(QUESTIONS.length); // the change hit a string's content: still a valid file
          count.hit('still-valid');
        } catch (error) {
          expect(error).toBeInstanceOf(OppuError);
          expect((error as OppuError).message.startsWith(`${name}: `)).toBe(true);
          await storeUnchanged();
          count.hit('refused');
        }
      }),
      { numRuns: 400, seed: FUZZ_SEED },
    );
    expect(count.report('LaMP questions (random bytes)')).toBe(400);
  });

  it('outputs files with a broken field or random damage name the file and entry', async () => {
    const count = new CaseCounter();
    const broken = fc.oneof(
      fc.record({ kind: fc.constant('no-task' as const) }),
      fc.record({ kind: fc.constant('task-type' as const), value: notAString }),
      fc.record({
        kind: fc.constant('golds-type' as const),
        value: fc.oneof(fc.string(), fc.constant({}), fc.integer()),
      }),
      fc.record({ kind: fc.constant('no-golds' as const) }),
      fc.record({
        kind: fc.constant('gold-field' as const),
        i: fc.nat(OUTPUTS.golds.length - 1),
        field: fc.constantFrom('id', 'output'),
        value: fc.oneof(notAString, fc.constant(undefined)),
      }),
      fc.record({
        kind: fc.constant('dup' as const),
        i: fc.integer({ min: 1, max: OUTPUTS.golds.length - 1 }),
      }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(40) }),
      fc.record({
        kind: fc.constant('top-level' as const),
        value: fc.oneof(fc.constant('[]'), fc.constant('"x"'), fc.constant('1')),
      }),
    );
    await fc.assert(
      fc.asyncProperty(broken, async (b) => {
        const o = structuredClone(OUTPUTS) as unknown as { task?: unknown; golds?: unknown };
        const golds = o.golds as Record<string, unknown>[];
        const name = `q${n}.json`;
        let expected: RegExp;
        let body: string | undefined;
        switch (b.kind) {
          case 'no-task':
            delete o.task;
            expected = /has no "task" field/;
            break;
          case 'task-type':
            o.task = b.value;
            expected = /"task" must be a string/;
            break;
          case 'golds-type':
            o.golds = b.value;
            expected = /"golds" must be an array/;
            break;
          case 'no-golds':
            delete o.golds;
            expected = /has no "golds" array/;
            break;
          case 'gold-field':
            if (b.value === undefined) delete golds[b.i]![b.field];
            else golds[b.i]![b.field] = b.value;
            expected = new RegExp(`golds\\[${b.i}\\].* has no string "${b.field}"`);
            break;
          case 'dup':
            golds[b.i]!.id = golds[b.i - 1]!.id;
            expected = new RegExp(`golds\\[${b.i}\\] .*repeats the id of golds\\[${b.i - 1}\\]`);
            break;
          case 'truncate':
            body = JSON.stringify(o).slice(0, b.at);
            expected = /(is empty|not valid JSON|JSON ends early|expected a JSON object)/;
            break;
          case 'top-level':
            body = b.value;
            expected = /expected a JSON object/;
            break;
        }
        const { path } = await fileWith(body ?? JSON.stringify(o));
        await expectOppuError(() => readOutputs(path), new RegExp(`^${esc(name)}: ${expected.source}`));
        await storeUnchanged();
        count.hit(b.kind);
      }),
      { numRuns: 300, seed: FUZZ_SEED },
    );
    expect(count.report('LaMP outputs')).toBe(300);
  });
});
