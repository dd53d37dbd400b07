/**
 * OPPU's profile-generation prompts (`prompt/prompt_profile.json` of the OPPU repository, Tan et al. 2024), per task.
 * `{}` receives the user's history list; `retrieval_history` formats one history item with Python `str.format`.
 */
export interface ProfilePrompt {
  readonly profilePrompt: string;
  readonly retrievalHistory: string;
}

export const OPPU_PROFILE_PROMPTS: Readonly<Record<string, ProfilePrompt>> = Object.freeze({
  movie_tagging: {
    profilePrompt:
      'Look at the following past movies this user has watched and determine the most popular tag they labeled. Answer in the following form: most popular tag: <tag>. User History: {} Answer:',
    retrievalHistory: 'description: {description} tag: {tag}',
  },
  citation: {
    profilePrompt:
      'Write a summary, in English, of the research interests and topics of a researcher who has published the following papers. Only generate the summary, no other text. User History: {} Answer:',
    retrievalHistory: 'paper title: {title} reference: {citation}',
  },
  news_categorize: {
    profilePrompt:
      'Look at the following past articles this journalist has written and determine the most popular category they write in. Answer in the following form: most popular category: <category>. User History: {} Answer:',
    retrievalHistory: 'article: {text} category: {category}',
  },
  news_headline: {
    profilePrompt:
      'Given this author’s previous articles, try to describe a template for their headlines. I want to be able to accurately predict the headline gives one of their articles. Be specific about their style and wording, don’t tell me anything generic. User History: {} Answer:',
    retrievalHistory: 'article: {text} headline: {title}',
  },
  product_rating: {
    profilePrompt:
      'Based on this user’s past reviews, what are the most common scores they give for positive and negative reviews? Answer in the following form: most common positive score: <most common positive score>, most common negative score: <most common negative score>. User History: {} Answer:',
    retrievalHistory: 'review: {text} score: {score}',
  },
  scholarly_title: {
    profilePrompt:
      'Given this author’s previous publications, try to describe a template for their titles. I want to be able to accurately predict the title of one of the papers from the abstract. Only generate the template description, nothing else. User History: {} Answer:',
    retrievalHistory: 'abstract: {abstract} title: {title}',
  },
  tweet_paraphrase: {
    profilePrompt:
      'Given this person’s previous tweets, try to describe a template for their tweets. I want to take a generic sentence and rephrase it to sound like one of their tweets, with the same style/punctuation/capitalization/wording/tone/etc. as them. Only give me the template description, nothing else. User History: {} Answer:',
    retrievalHistory: 'tweet: {text}',
  },
});

/** LaMP task ids to OPPU's task names. */
export const LAMP_TASK_NAMES: Readonly<Record<string, string>> = Object.freeze({
  LaMP_1: 'citation',
  LaMP_2M: 'movie_tagging',
  LaMP_2N: 'news_categorize',
  LaMP_2: 'news_categorize',
  LaMP_3: 'product_rating',
  LaMP_4: 'news_headline',
  LaMP_5: 'scholarly_title',
  LaMP_7: 'tweet_paraphrase',
});

/** OPPU's task name for `task` (`LaMP_3`, `LaMP-3`, `lamp3` or `product_rating`), or undefined. */
export function oppuTaskName(task: string): string | undefined {
  if (task in OPPU_PROFILE_PROMPTS) return task;
  const m = /^lamp[-_ ]?(\d)([mn])?$/i.exec(task.trim());
  if (!m) return undefined;
  return LAMP_TASK_NAMES[`LaMP_${m[1]}${(m[2] ?? '').toUpperCase()}`];
}

/** Python's `repr()` of a str (the quoting `str.format` gives a list of strings). */
export function pythonRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/** Python `str.format(**fields)` for `{name}` placeholders; a missing field is an error naming it. */
export function pythonFormat(
  template: string,
  fields: Readonly<Record<string, string | undefined>>,
  where: string,
): string {
  return template.replace(/\{(\w*)\}/g, (_, name: string) => {
    const v = fields[name];
    if (v === undefined) throw new Error(`${where}: has no "${name}" field, which the prompt template needs`);
    return v;
  });
}
