import type { Rng } from './prng.js';
import type { SynthExample, TaskModel } from './task-model.js';
import { applyCasing, type Casing, capitalize, fill } from './text.js';
import {
  DAYS,
  EMAIL_ACTIONS,
  EMAIL_GREETINGS,
  EMAIL_LINES,
  EMAIL_SIGN_OFFS,
  EMAIL_TOPICS,
  HEADLINE_FOLLOW_UPS,
  METHOD_WORDS,
  NEWS_EVENTS,
  NEWS_SUBJECTS,
  RESEARCH_FIELDS,
  TWEET_ACTIVITIES,
  TWEET_FEELINGS,
} from './vocab.js';
import { NEWS_CATEGORY_PHRASES } from './vocab-news.js';

/**
 * LaMP-4/5/6/7: the output (headline, title, subject, tweet) states the item's facts in the user's style:
 * - vocabulary: which synonym they use for each verb/feeling (`synonyms[group]`),
 * - a prefix they put first ("BREAKING:", "Re:", "just"...), a suffix ("!", "#blessed", "lol"),
 * - length: whether they add a detail ("... in Springfield", "on friday"),
 * - form: the title pattern for papers, word order for tweets,
 * - casing (invisible to ROUGE, visible to readers).
 * Per item, with probability `noise`, one element is left out or swapped (the prefix dropped, another synonym).
 *
 * - Oracle (knows the style): ROUGE-1 and ROUGE-L 0.96-0.99 (only the noise is missed).
 * - Without the user (a neutral style: first synonym, no prefix/suffix/detail): ROUGE-1 0.62-0.73.
 * (Measured with `oppu synth --task T --users 50 --items 40 --queries 5 --seed S` for S = 1, 2, 3; the seed 1
 * table is in the package README.)
 * The inputs are plain sentences: an article with a follow-up and other local news (LaMP-4), an abstract of the
 * field (LaMP-5), an email with a greeting and sign-off (LaMP-6), what the user did and how they feel (LaMP-7).
 * - Shift: the user adopts a new style.
 */
export interface StylePreferences {
  readonly casing: Casing;
  readonly prefix: string;
  readonly suffix: string;
  readonly long: boolean;
  /** Pattern index (paper titles, tweet word order). */
  readonly form: number;
  /** Synonym index per synonym group. */
  readonly synonyms: readonly number[];
}

const NOISE = 0.2;

interface StyledFacts {
  /** The input text (article, abstract, email, text to tweet). */
  readonly text: string;
  /** Renders the output for a style. */
  render(style: StylePreferences): string;
}

interface StyledTask {
  readonly prefixes: readonly string[];
  readonly suffixes: readonly string[];
  readonly casings: readonly Casing[];
  /** What each form (title pattern, word order) looks like, for `describe`; one entry where there is one form. */
  readonly forms: readonly string[];
  readonly groups: number;
  readonly synonymsPerGroup: number;
  /** What a long output adds, for `describe`. */
  readonly detail: string;
  /** The words a user's synonym choices stand for, for `describe`. */
  words(synonyms: readonly number[]): string[];
  /** Output fields of a history item from (input text, output). */
  fields(text: string, output: string): Record<string, string>;
  content(text: string): SynthExample['content'];
  facts(rng: Rng): StyledFacts;
}

const CASING_NAMES: Readonly<Record<Casing, string>> = {
  title: 'Title Case',
  sentence: 'sentence case',
  lower: 'lower case',
  upper: 'UPPER CASE',
};

const NEUTRAL: Omit<StylePreferences, 'synonyms'> = {
  casing: 'sentence',
  prefix: '',
  suffix: '',
  long: false,
  form: 0,
};

function styledModel(t: StyledTask): TaskModel<StylePreferences> {
  const draw = (rng: Rng): StylePreferences => ({
    casing: rng.pick(t.casings),
    prefix: rng.pick(t.prefixes),
    suffix: rng.pick(t.suffixes),
    long: rng.chance(0.5),
    form: rng.int(0, t.forms.length - 1),
    synonyms: Array.from({ length: t.groups }, () => rng.int(0, t.synonymsPerGroup - 1)),
  });
  return {
    preferences: draw,
    shifted: (rng, before) => {
      let next = draw(rng);
      while (next.prefix === before.prefix && t.prefixes.length > 1)
        next = { ...next, prefix: rng.pick(t.prefixes) };
      return next;
    },
    example(rng, p) {
      const facts = t.facts(rng);
      const oracle = facts.render(p);
      let used = p;
      if (rng.chance(NOISE)) {
        used = rng.chance(0.5)
          ? { ...p, prefix: '', suffix: '' }
          : { ...p, synonyms: p.synonyms.map(() => rng.int(0, t.synonymsPerGroup - 1)) };
      }
      const answer = facts.render(used);
      const baseline = facts.render({ ...NEUTRAL, synonyms: p.synonyms.map(() => 0) });
      return {
        fields: t.fields(facts.text, answer),
        content: t.content(facts.text),
        answer,
        oracle,
        baseline,
      };
    },
    describe: (p) =>
      [
        `writes in ${CASING_NAMES[p.casing]}`,
        p.prefix ? `starts with ${JSON.stringify(p.prefix)}` : 'no prefix',
        p.suffix.trim() ? `ends with ${JSON.stringify(p.suffix.trim())}` : 'no ending',
        p.long ? t.detail : 'keeps it short',
        ...(t.forms.length > 1 ? [t.forms[p.form]!] : []),
        `says ${t
          .words(p.synonyms)
          .map((w) => JSON.stringify(w))
          .join(', ')}`,
      ].join('; '),
  };
}

const join = (...parts: string[]) => parts.filter(Boolean).join(' ');
const CITIES = [
  'Springfield',
  'Riverside',
  'Fairview',
  'Madison',
  'Georgetown',
  'Clinton',
  'Salem',
  'Franklin',
];
const NEUTRAL_EVENT = ['voted to approve', 'is now facing', 'presented', 'voted down', 'received'];

export const HEADLINE_MODEL = styledModel({
  prefixes: ['', 'BREAKING:', 'Opinion:', 'Watch:', 'Exclusive:'],
  suffixes: ['', '!', '?'],
  casings: ['title', 'sentence', 'upper'],
  forms: ['subject, verb, object'],
  groups: NEWS_EVENTS.length,
  synonymsPerGroup: 4,
  detail: 'adds where it happened',
  words: (synonyms) => synonyms.map((i, g) => NEWS_EVENTS[g]!.verbs[i]!),
  fields: (text, output) => ({ text, title: output }),
  content: (text) => ({ text }),
  facts(rng) {
    const subject = rng.pick(NEWS_SUBJECTS);
    const e = rng.int(0, NEWS_EVENTS.length - 1);
    const object = rng.pick(NEWS_EVENTS[e]!.object);
    const city = rng.pick(CITIES);
    // Then what people said about it, and other news from the same town.
    const other = rng.pick(Object.values(NEWS_CATEGORY_PHRASES));
    const text = [
      `The ${subject} in ${city} ${NEUTRAL_EVENT[e]} the ${object} on ${capitalize(rng.pick(DAYS))}, officials said.`,
      fill(rng, rng.pick(HEADLINE_FOLLOW_UPS), { subject, object, city }),
      fill(rng, 'Elsewhere in {city}, {who} {does} {where}.', { city, ...other }),
    ].join(' ');
    return {
      text,
      render: (s) =>
        join(
          s.prefix,
          applyCasing(
            join(subject, NEWS_EVENTS[e]!.verbs[s.synonyms[e]!]!, object, s.long ? `in ${city}` : ''),
            s.casing,
          ),
        ) + s.suffix,
    };
  },
});

const PAPER_FORMS = [
  (m: string, a: string, b: string) => `${m} ${a} for ${b}`,
  (m: string, a: string, b: string) =>
    `${m.slice(0, 1).toUpperCase()}${a.slice(0, 2).toUpperCase()}: ${m} ${a} for ${b}`,
  (m: string, a: string, b: string) => `towards ${m} ${a} in ${b}`,
  (m: string, a: string, b: string) => `on the ${a} of ${b} with ${m} models`,
];

const PAPER_PROBLEMS = [
  'Existing methods fall short on {challenge}.',
  'Both problems get hard in the presence of {challenge}.',
  'Prior work rarely handles {challenge}.',
];
const PAPER_EVALUATIONS = [
  'Experiments on {benchmark} confirm the gains.',
  'We also evaluate on {benchmark}, where the approach stays ahead of strong baselines.',
  'An ablation shows that {tool} matters most.',
];

export const PAPER_TITLE_MODEL = styledModel({
  prefixes: [''],
  suffixes: ['', '', ': a study', ': a survey'],
  casings: ['title', 'sentence'],
  forms: [
    'titles like "M A for B"',
    'titles like "MA: M A for B"',
    'titles like "towards M A in B"',
    'titles like "on the A of B with M models"',
  ],
  groups: 1,
  synonymsPerGroup: 2,
  detail: 'adds "and beyond"',
  words: (synonyms) => [synonyms[0] === 0 ? 'the method' : "the method and the field's first word"],
  fields: (text, output) => ({ abstract: text, title: output }),
  content: (text) => ({ abstract: text }),
  facts(rng) {
    const field = rng.pick(RESEARCH_FIELDS);
    const [a, b] = rng.sample(field.phrases, 2) as [string, string];
    const method = rng.pick(METHOD_WORDS);
    const slots = { challenge: field.challenges, tool: field.tools, benchmark: field.benchmarks };
    const text = [
      `We study ${a} in the setting of ${b}.`,
      fill(rng, rng.pick(PAPER_PROBLEMS), slots),
      fill(rng, `We propose a ${method} approach based on {tool} and show gains on ${b} benchmarks.`, slots),
      fill(rng, rng.pick(PAPER_EVALUATIONS), slots),
    ].join(' ');
    return {
      text,
      render: (s) => {
        const m = s.synonyms[0] === 0 ? method : `${method} ${field.words[0]}`;
        const title = PAPER_FORMS[s.form]!(m, a, s.long ? `${b} and beyond` : b);
        return applyCasing(title + s.suffix, s.casing);
      },
    };
  },
});

export const EMAIL_SUBJECT_MODEL = styledModel({
  prefixes: ['', 'Re:', 'FW:', '[team]', 'Urgent:', 'FYI:'],
  suffixes: ['', '!', ' - thanks'],
  casings: ['lower', 'sentence', 'title'],
  forms: ['topic, then what happens to it'],
  groups: EMAIL_ACTIONS.length,
  synonymsPerGroup: 4,
  detail: 'adds the day',
  words: (synonyms) => synonyms.map((i, g) => EMAIL_ACTIONS[g]![i]!),
  fields: (text, output) => ({ text, title: output }),
  content: (text) => ({ text }),
  facts(rng) {
    const topic = rng.pick(EMAIL_TOPICS);
    const a = rng.int(0, EMAIL_ACTIONS.length - 1);
    const day = rng.pick(DAYS);
    const neutral = ['will now take place on', 'has to be ready by', 'here are the notes from'][a]!;
    const [line, otherLine] = rng.sample(EMAIL_LINES, 2) as [string, string];
    const text = [
      rng.pick(EMAIL_GREETINGS),
      a === 2
        ? `${capitalize(neutral)} the ${topic} on ${capitalize(day)}.`
        : `The ${topic} ${neutral} ${capitalize(day)}.`,
      fill(rng, line, { topic }),
      ...(rng.chance(0.5) ? [fill(rng, otherLine, { topic })] : []),
      rng.pick(EMAIL_SIGN_OFFS),
    ].join(' ');
    return {
      text,
      render: (s) => {
        const verb = EMAIL_ACTIONS[a]![s.synonyms[a]!]!;
        const body = a === 2 ? join(verb, topic, s.long ? day : '') : join(topic, verb, s.long ? day : '');
        return join(s.prefix, applyCasing(body, s.casing)) + s.suffix;
      },
    };
  },
});

export const TWEET_MODEL = styledModel({
  prefixes: ['', 'just', 'ok so', 'honestly'],
  suffixes: ['', '!!', ' lol', ' #blessed', ' :)'],
  casings: ['lower', 'sentence'],
  forms: ['what they did, then how they feel', 'how they feel, then what they did'],
  groups: TWEET_FEELINGS.length,
  synonymsPerGroup: 4,
  detail: 'adds "with my sister"',
  words: (synonyms) => synonyms.map((i, g) => TWEET_FEELINGS[g]![i]!),
  fields: (_text, output) => ({ text: output }),
  content: (text) => ({ text }),
  facts(rng) {
    const activity = rng.pick(TWEET_ACTIVITIES);
    const f = rng.int(0, TWEET_FEELINGS.length - 1);
    const neutralFeeling = ['glad', 'worn out', 'pleased with myself'][f]!;
    const text = `I ${activity} and now I feel ${neutralFeeling}.`;
    return {
      text,
      render: (s) => {
        const feeling = TWEET_FEELINGS[f]![s.synonyms[f]!]!;
        const what = s.long ? `${activity} with my sister` : activity;
        const body = s.form === 0 ? `${what}, ${feeling}` : `${feeling}, ${what}`;
        return applyCasing(join(s.prefix, body), s.casing) + s.suffix;
      },
    };
  },
});
