import type { Rng } from './prng.js';
import type { SynthExample, TaskModel } from './task-model.js';
import { applyCasing, topicParagraph } from './text.js';
import { METHOD_WORDS, RESEARCH_FIELDS } from './vocab.js';

/**
 * LaMP-1: a researcher works in two fields. A question's paper title joins a phrase of one of the user's fields
 * with a phrase of a field they don't work in ("X for Y"), and the two candidate references come one from each
 * field, so the title alone cannot tell them apart. The user cites the reference from their own field (with
 * probability `noise`, the other).
 *
 * - Oracle (knows the fields): accuracy 1 - noise, about 0.9. Without the user: 0.5.
 * - Shift: the user moves to two new fields.
 * History items carry `title`, `abstract` and OPPU's `citation` (a paper they cited).
 */
export interface CitationPreferences {
  readonly fields: readonly number[];
}

const NOISE = 0.1;

function paperTitle(rng: Rng, field: number): string {
  const f = RESEARCH_FIELDS[field]!;
  return applyCasing(
    `${rng.pick(METHOD_WORDS)} ${rng.pick(f.phrases)} with ${rng.pick(f.words)} ${rng.pick(f.words)}`,
    'title',
  );
}

export const CITATION_MODEL: TaskModel<CitationPreferences> = {
  preferences: (rng) => ({
    fields: rng.sample(
      RESEARCH_FIELDS.map((_, i) => i),
      2,
    ),
  }),
  shifted: (rng, before) => {
    const others = RESEARCH_FIELDS.map((_, i) => i).filter((i) => !before.fields.includes(i));
    return { fields: rng.sample(others, 2) };
  },
  example(rng, p): SynthExample {
    const own = rng.pick(p.fields);
    let away = rng.int(0, RESEARCH_FIELDS.length - 1);
    while (p.fields.includes(away)) away = rng.int(0, RESEARCH_FIELDS.length - 1);
    const title = applyCasing(
      `${rng.pick(METHOD_WORDS)} ${rng.pick(RESEARCH_FIELDS[own]!.phrases)} for ${rng.pick(RESEARCH_FIELDS[away]!.phrases)}`,
      'title',
    );
    const abstract = topicParagraph(
      rng,
      [RESEARCH_FIELDS[own]!.words, RESEARCH_FIELDS[own]!.phrases],
      rng.int(3, 4),
    );
    const ownRef = paperTitle(rng, own);
    const awayRef = paperTitle(rng, away);
    const ownFirst = rng.chance(0.5);
    const oracle = ownFirst ? '[1]' : '[2]';
    const answer = rng.chance(NOISE) ? (oracle === '[1]' ? '[2]' : '[1]') : oracle;
    return {
      fields: { title: paperTitle(rng, own), abstract, citation: ownRef },
      content: { title, reference1: ownFirst ? ownRef : awayRef, reference2: ownFirst ? awayRef : ownRef },
      answer,
      oracle,
      baseline: '[1]',
    };
  },
  describe: (p) => `works in ${p.fields.map((f) => RESEARCH_FIELDS[f]!.name).join(' and ')}`,
};
