import { OppuError } from '../contracts/errors.js';

/**
 * The personalization methods of OPPU's evaluation. All of them run on the task-adapted base (stage 1).
 * - `base`: the task-adapted base alone, no personal data.
 * - `rag`: + the BM25 top-k of the user's history in the prompt.
 * - `pag`: + the user's profile and the BM25 top-k (profile-augmented generation, as in the paper).
 * - `oppu`: the user's own adapter (stage 2), prompt without history.
 * - `oppu+rag`: the adapter, trained and queried with the top-k history in the prompt.
 * - `oppu+pag`: the adapter, trained and queried with the profile and the top-k history.
 */
export const METHOD_NAMES = ['base', 'rag', 'pag', 'oppu', 'oppu+rag', 'oppu+pag'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

export interface MethodSpec {
  /** Trains and uses a per-user adapter. */
  readonly adapter: boolean;
  /** Puts the BM25 top-k of the user's history into prompts. */
  readonly retrieval: boolean;
  /** Puts the user's profile into prompts. */
  readonly profile: boolean;
}

export const METHODS: Readonly<Record<MethodName, MethodSpec>> = Object.freeze({
  base: { adapter: false, retrieval: false, profile: false },
  rag: { adapter: false, retrieval: true, profile: false },
  pag: { adapter: false, retrieval: true, profile: true },
  oppu: { adapter: true, retrieval: false, profile: false },
  'oppu+rag': { adapter: true, retrieval: true, profile: false },
  'oppu+pag': { adapter: true, retrieval: true, profile: true },
});

export function methodName(value: string, where = 'method'): MethodName {
  if ((METHOD_NAMES as readonly string[]).includes(value)) return value as MethodName;
  throw new OppuError(
    'invalid_method',
    `${where}: unknown method ${JSON.stringify(value)} (choose one of ${METHOD_NAMES.join(', ')})`,
  );
}
