import { OppuError, type UserId } from '@oppu/contracts';

// `UserId` is defined in @oppu/contracts; the functions that make one live here.
export type { UserId } from '@oppu/contracts';

const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function isUserId(value: unknown): value is UserId {
  return typeof value === 'string' && USER_ID.test(value);
}

/** Validates `value` as a user id; `where` names the argument or field in the error. */
export function userId(value: unknown, where = 'userId'): UserId {
  if (isUserId(value)) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : String(value);
  throw new OppuError(
    'invalid_user_id',
    `${where}: ${shown} is not a valid user id (use 1-64 characters from A-Z a-z 0-9 _ -)`,
  );
}

/**
 * The user id for an outside identifier (a LaMP `user_id`, an account name): the identifier itself when it is a
 * valid user id; otherwise its first 47 characters with anything outside `[A-Za-z0-9_-]` written as `_`, then `-`
 * and 16 hex digits of the 64-bit FNV-1a hash of the whole identifier (UTF-8). So `a.b` and `a_b`, or two long
 * identifiers sharing their first 64 characters, get different ids. A hostile identifier can still be chosen to
 * equal another's mapped id; a caller that sees every identifier at once must check for that (`groupUsers` does).
 */
export function userIdFor(raw: string): UserId {
  if (isUserId(raw)) return raw;
  let readable = '';
  let n = 0;
  for (const c of raw) {
    if (n++ === 47) break;
    readable += /^[A-Za-z0-9_-]$/.test(c) ? c : '_';
  }
  return `${readable}-${fnv1a64(raw)}` as UserId;
}

/** 64-bit FNV-1a of a string's UTF-8 bytes, as 16 hex digits (state in four 16-bit limbs, low first). */
function fnv1a64(text: string): string {
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (const byte of new TextEncoder().encode(text)) {
    h0 ^= byte;
    // h * 0x100000001b3 mod 2^64 = h * 0x1b3 + (h << 40)
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (t1 >>> 16) + ((h0 & 0xff) << 8);
    const t3 = h3 * 0x1b3 + (t2 >>> 16) + ((h0 >>> 8) | ((h1 & 0xff) << 8));
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  return [h3, h2, h1, h0].map((x) => x.toString(16).padStart(4, '0')).join('');
}
