import type { Rng } from './prng.js';

export const capitalize = (s: string): string => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

export type Casing = 'title' | 'sentence' | 'lower' | 'upper';

/** Words a title keeps in lower case (unless one starts the title or follows a colon). */
const SMALL_WORDS = new Set([
  'a',
  'an',
  'and',
  'as',
  'at',
  'by',
  'for',
  'from',
  'in',
  'into',
  'of',
  'on',
  'or',
  'over',
  'the',
  'to',
  'via',
  'with',
]);

/** Applies a casing style to a phrase. */
export function applyCasing(text: string, casing: Casing): string {
  switch (casing) {
    case 'title':
      return text.replace(/(^|: |[^a-zA-Z'])([a-z][a-z']*)/g, (whole, before: string, word: string) =>
        before === '' || before === ': ' || !SMALL_WORDS.has(word) ? before + capitalize(word) : whole,
      );
    case 'sentence':
      return capitalize(text.toLowerCase());
    case 'lower':
      return text.toLowerCase();
    case 'upper':
      return text.toUpperCase();
  }
}

/** A sentence from parts: joined with spaces, capitalised, ended with a full stop unless it has an end. */
export function sentence(...parts: string[]): string {
  const text = capitalize(parts.filter(Boolean).join(' '));
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * Fills a template's `{slot}`s. A slot's value is a phrase, or a list to pick one phrase from with `rng`;
 * `{Slot}` (capital first letter) capitalises the phrase; "a" before a vowel becomes "an". Unknown slots are an
 * error in the template.
 */
export function fill(
  rng: Rng,
  template: string,
  slots: Readonly<Record<string, string | readonly string[]>>,
): string {
  const filled = template.replace(/\{([A-Za-z]+)\}/g, (_, name: string) => {
    const value = slots[name[0]!.toLowerCase() + name.slice(1)];
    if (value === undefined) throw new Error(`synth template "${template}": no slot "${name}"`);
    const phrase = typeof value === 'string' ? value : rng.pick(value);
    return name[0] === name[0]!.toUpperCase() ? capitalize(phrase) : phrase;
  });
  return articles(filled);
}

/** "a" before a vowel sound becomes "an" ("an adaptive method"; "a union" stays). */
export const articles = (text: string): string =>
  text.replace(/\b([Aa]) (?=[aeio]|u(?!ni|s[aeiu]))/g, '$1n ');
