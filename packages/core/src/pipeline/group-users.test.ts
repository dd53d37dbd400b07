import { describe, expect, it } from 'vitest';
import { OppuError } from '../contracts/errors.js';
import { isUserId, userIdFor } from '../contracts/user.js';
import { groupUsers, type PipelineQuestion } from './run-lamp.js';

const q = (id: string, user: string | undefined, ...items: string[]): PipelineQuestion => ({
  id,
  input: `question ${id}`,
  profile: items.map((text, i) => ({ id: `${id}-${i}`, text })),
  ...(user !== undefined ? { user_id: user } : {}),
});

/** user id -> (question ids, item texts), to see who got what. */
const owners = (questions: PipelineQuestion[]) =>
  Object.fromEntries(
    groupUsers(questions).map((u) => [
      u.userId,
      { questions: u.questions.map((x) => x.id), items: u.items.map((i) => String(i.text)) },
    ]),
  );

describe('groupUsers: one identifier, one user', () => {
  it('keeps near-identical ids apart (a.b / a_b, case, x / x-y)', () => {
    const got = owners([
      q('1', 'a.b', 'secret of a.b'),
      q('2', 'a_b', 'secret of a_b'),
      q('3', 'A_b', 'secret of A_b'),
      q('4', 'x', 'secret of x'),
      q('5', 'x-y', 'secret of x-y'),
      q('6', 'a.b', 'more of a.b'),
    ]);
    expect(Object.keys(got)).toHaveLength(5);
    expect(got.a_b).toEqual({ questions: ['2'], items: ['secret of a_b'] });
    expect(got[userIdFor('a.b')]).toEqual({ questions: ['1', '6'], items: ['secret of a.b', 'more of a.b'] });
    expect(got.A_b).toEqual({ questions: ['3'], items: ['secret of A_b'] });
    expect(got.x).toEqual({ questions: ['4'], items: ['secret of x'] });
    expect(got['x-y']).toEqual({ questions: ['5'], items: ['secret of x-y'] });
  });

  it('keeps two long ids with the same first 64 characters apart', () => {
    const prefix = 'p'.repeat(64);
    const users = groupUsers([q('1', `${prefix}-one`, 'one'), q('2', `${prefix}-two`, 'two')]);
    expect(users).toHaveLength(2);
    expect(users.map((u) => u.items.map((i) => i.text))).toEqual([['one'], ['two']]);
    for (const u of users) expect(isUserId(u.userId)).toBe(true);
    expect(users[0]!.userId).not.toBe(users[1]!.userId);
  });

  it('maps the same identifier to the same id in every call (task-train data vs targets)', () => {
    const [a] = groupUsers([q('1', 'user.7', 'x')]);
    const [b] = groupUsers([q('9', 'user.7', 'y')]);
    expect(a!.userId).toBe(b!.userId);
    expect(a!.userId).toBe(userIdFor('user.7'));
  });

  it('refuses, in one line, two users that would share an id', () => {
    const cases: [PipelineQuestion[], RegExp][] = [
      // A user_id chosen to equal another's mapped id.
      [
        [q('1', 'a.b', 'x'), q('2', userIdFor('a.b'), 'y')],
        /^questions: user_id "a\.b" and user_id "a_b-[0-9a-f]{16}" would both be user "a_b-[0-9a-f]{16}"; give one of them another user_id$/,
      ],
      // A question without user_id (user "q1") beside a user named "q1".
      [
        [q('1', undefined, 'x'), q('2', 'q1', 'y')],
        /^questions: question "1" \(no user_id\) and user_id "q1" would both be user "q1"/,
      ],
    ];
    for (const [questions, message] of cases) {
      let caught: unknown;
      try {
        groupUsers(questions);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(OppuError);
      expect((caught as OppuError).code).toBe('user_id_collision');
      expect((caught as OppuError).message).toMatch(message);
      expect((caught as OppuError).message).not.toContain('\n');
    }
  });
});

describe('userIdFor', () => {
  it('keeps a valid id, and gives any other string a valid id with a hash of all of it', () => {
    expect(userIdFor('alice_2')).toBe('alice_2');
    // 64-bit FNV-1a reference values: "" -> cbf29ce484222325, "a.b" as computed by the reference.
    expect(userIdFor('')).toBe('-cbf29ce484222325');
    expect(userIdFor('a.b')).toBe('a_b-e61d99190466522c');
    expect(userIdFor('caf\u00e9')).toMatch(/^caf_-[0-9a-f]{16}$/);
    const long = userIdFor('x'.repeat(10_000));
    expect(long).toMatch(/^x{47}-[0-9a-f]{16}$/);
    expect(isUserId(long)).toBe(true);
    expect(userIdFor(`${'x'.repeat(64)}y`)).not.toBe(userIdFor(`${'x'.repeat(64)}z`));
  });
});
