import type { Rng } from './prng.js';
import type { SynthExample, TaskModel } from './task-model.js';
import { applyCasing, fill } from './text.js';
import { METHOD_WORDS, RESEARCH_FIELDS, type ResearchField } from './vocab.js';

/**
 * LaMP-1: a researcher works in two fields. A question's paper title joins a phrase of one of the user's fields
 * with a phrase of a field they don't work in ("X for Y"), and the two candidate references come one from each
 * field, so the title alone cannot tell them apart. The user cites the reference from their own field (with
 * probability `noise`, the other).
 *
 * - Oracle (knows the fields): accuracy 1 - noise, about 0.9 (measured 0.90-0.93).
 * - Without the user (always the first reference): about 0.5 (measured 0.46-0.54).
 * Measured with `oppu synth --task LaMP_1 --users 50 --items 40 --queries 5 --seed S` for S = 1, 2, 3.
 * - Shift: the user moves to two new fields.
 * History items carry `title`, `abstract` (what the paper studies, what makes it hard, what it proposes, what
 * it is tested on, all in their field) and OPPU's `citation` (a paper they cited).
 */
export interface CitationPreferences {
  readonly fields: readonly number[];
}

const NOISE = 0.1;

const TITLES = [
  '{method} {phrase} with {tool}',
  '{phrase} via {method} {tool}',
  '{method} {tool} for {phrase}',
];

function paperTitle(rng: Rng, field: number): string {
  const f = RESEARCH_FIELDS[field]!;
  return applyCasing(
    fill(rng, rng.pick(TITLES), { method: METHOD_WORDS, phrase: f.phrases, tool: f.tools }),
    'title',
  );
}

/** A paper's abstract, every sentence about its field: problem, difficulty, proposal, evaluation. */
function paperAbstract(rng: Rng, f: ResearchField): string {
  const [tool, otherTool] = rng.sample(f.tools, 2) as [string, string];
  const [phrase, otherPhrase] = rng.sample(f.phrases, 2) as [string, string];
  const slots = {
    phrase,
    otherPhrase,
    tool,
    otherTool,
    method: METHOD_WORDS,
    challenge: f.challenges,
    benchmark: f.benchmarks,
  };
  const sentences = [
    rng.pick([
      'Work on {phrase} often struggles with {challenge}.',
      'Existing methods for {phrase} fall short on {challenge}.',
    ]),
    rng.pick([
      'We propose a {method} approach based on {tool}.',
      'We introduce a {method} method that combines {tool} with {otherTool}.',
    ]),
    rng.pick([
      'Experiments on {benchmark} show clear gains over strong baselines.',
      'On {benchmark}, it also improves {otherPhrase}.',
    ]),
  ];
  if (rng.chance(0.5)) sentences.push('We also show how {otherTool} helps with {challenge}.');
  return sentences.map((t) => fill(rng, t, slots)).join(' ');
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
    const abstract = paperAbstract(rng, RESEARCH_FIELDS[own]!);
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
