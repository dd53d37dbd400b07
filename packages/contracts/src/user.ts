declare const userIdBrand: unique symbol;
/**
 * A validated user id: 1-64 of `[A-Za-z0-9_-]`. It becomes part of file names, so nothing else is accepted.
 * `userId(value)` of `@oppu/core` validates one (the only way to make one).
 */
export type UserId = string & { readonly [userIdBrand]: true };
