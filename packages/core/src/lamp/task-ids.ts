import { OppuError } from '../contracts/errors.js';

/** The LaMP tasks oppu knows, with OPPU's split of LaMP-2 into movie tagging (2M) and news categorization (2N). */
export const LAMP_TASK_IDS = Object.freeze([
  'LaMP_1',
  'LaMP_2M',
  'LaMP_2N',
  'LaMP_3',
  'LaMP_4',
  'LaMP_5',
  'LaMP_6',
  'LaMP_7',
] as const);

export type LampTaskId = (typeof LAMP_TASK_IDS)[number];

/** Names other code uses for the same tasks: LaMP's `LaMP-1`, OPPU's `citation`, ... */
const ALIASES: Readonly<Record<string, LampTaskId>> = {
  'lamp-1': 'LaMP_1',
  citation: 'LaMP_1',
  'lamp-2m': 'LaMP_2M',
  movie_tagging: 'LaMP_2M',
  'lamp-2n': 'LaMP_2N',
  news_categorize: 'LaMP_2N',
  'lamp-3': 'LaMP_3',
  product_rating: 'LaMP_3',
  'lamp-4': 'LaMP_4',
  news_headline: 'LaMP_4',
  'lamp-5': 'LaMP_5',
  scholarly_title: 'LaMP_5',
  'lamp-6': 'LaMP_6',
  email_subject: 'LaMP_6',
  'lamp-7': 'LaMP_7',
  tweet_paraphrase: 'LaMP_7',
};

export function isLampTaskId(value: unknown): value is LampTaskId {
  return typeof value === 'string' && (LAMP_TASK_IDS as readonly string[]).includes(value);
}

/**
 * Resolves a task name (`LaMP_2M`, `lamp_2m`, `LaMP-2M`, `movie_tagging`) to its id. Plain `LaMP_2` is refused:
 * it is ambiguous between the movie (2M) and news (2N) versions.
 */
export function lampTaskId(name: string, where = 'task'): LampTaskId {
  const key = name.trim();
  if (isLampTaskId(key)) return key;
  const folded = key.toLowerCase().replace('_', '-');
  const byCase = LAMP_TASK_IDS.find((id) => id.toLowerCase().replace('_', '-') === folded);
  if (byCase) return byCase;
  const alias = ALIASES[folded] ?? ALIASES[key.toLowerCase()];
  if (alias) return alias;
  if (folded === 'lamp-2') {
    throw new OppuError(
      'ambiguous_task',
      `${where}: "${name}" is ambiguous: use LaMP_2M (movie tagging, LaMP-2 today) or LaMP_2N (news categorization, the first LaMP-2)`,
    );
  }
  throw new OppuError(
    'unknown_task',
    `${where}: unknown task "${name}"; use one of ${LAMP_TASK_IDS.join(', ')}`,
  );
}
