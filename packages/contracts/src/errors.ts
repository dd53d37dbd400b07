/**
 * The one error class every oppu package throws for bad input or a broken invariant.
 * `code` is stable (match on it); `message` says what was wrong, where, and what to do.
 */
export class OppuError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OppuError';
    this.code = code;
  }
}
