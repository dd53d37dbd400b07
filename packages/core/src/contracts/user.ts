import { OppuError } from './errors.js';

declare const userIdBrand: unique symbol;
/** A validated user id: 1-64 of `[A-Za-z0-9_-]`. It becomes part of file names, so nothing else is accepted. */
export type UserId = string & { readonly [userIdBrand]: true };

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
