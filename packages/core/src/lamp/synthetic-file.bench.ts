/**
 * Writes a big LaMP-4-shaped questions file quickly (for memory tests and the load benchmark): `users` questions,
 * each with `items` profile items of about 110 words. Deterministic; roughly 760 bytes per profile item.
 */
import { formatLampInput } from './input-format.js';
import { type LampQuestion, writeQuestions } from './questions.js';

const WORDS =
  'the council city market team season players research model data health school family travel food music film energy climate court police election policy report study water price world local state national new year week people first last group plan'.split(
    ' ',
  );

function words(seed: number, n: number): string {
  let s = seed >>> 0;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(WORDS[s % WORDS.length]!);
  }
  return out.join(' ');
}

export function* bigQuestions(users: number, items: number): Generator<LampQuestion> {
  for (let u = 0; u < users; u++) {
    yield {
      id: String(100000 + u),
      input: formatLampInput('LaMP_4', { text: words(u, 120) }),
      profile: Array.from({ length: items }, (_, j) => ({
        id: `${100000 + u}${String(j).padStart(4, '0')}`,
        text: words(u * 7919 + j, 100),
        title: words(u * 31 + j, 9),
        date: `20${10 + (j % 10)}-0${1 + (j % 9)}-1${j % 10}`,
      })),
    };
  }
}

/** Writes about `megabytes` MB; returns the number of questions written. */
export function writeBigQuestionsFile(path: string, megabytes: number): Promise<number> {
  const items = 100;
  const bytesPerQuestion = items * 760;
  const users = Math.max(1, Math.round((megabytes * 1e6) / bytesPerQuestion));
  return writeQuestions(path, bigQuestions(users, items));
}
