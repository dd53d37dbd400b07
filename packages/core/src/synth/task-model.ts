import type { LampInput } from '../lamp/input-format.js';
import type { Rng } from './prng.js';

/** One synthetic example of a task, before it becomes a history item or a question. */
export interface SynthExample {
  /** The history-item fields (task fields with the user's answer filled in), without id/date. */
  readonly fields: Readonly<Record<string, string>>;
  /** The question content (becomes `input`). */
  readonly content: LampInput;
  /** What the user answered: the gold. Includes the user's per-item noise. */
  readonly answer: string;
  /** What a method that knows the user's latent preferences (but not the per-item noise) answers. */
  readonly oracle: string;
  /** What a user-agnostic rule answers (same content, no knowledge of the user). */
  readonly baseline: string;
}

/** The latent model of one task: how users differ, and how their preferences decide their answers. */
export interface TaskModel<P> {
  /** Draws one user's latent preferences. */
  preferences(rng: Rng): P;
  /** The same user's preferences after a behaviour shift (what changes is task-specific). */
  shifted(rng: Rng, before: P): P;
  /** One example for a user with preferences `p`. */
  example(rng: Rng, p: P): SynthExample;
  /** A short human-readable account of the preferences (documentation, debugging, tests). */
  describe(p: P): string;
}
