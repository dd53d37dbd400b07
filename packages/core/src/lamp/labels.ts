/**
 * The closed answer sets of the LaMP classification tasks, in the order of LaMP's (and OPPU's) evaluation code
 * where that order is a list the metric indexes into. Order does not change any score; it is kept for diffing.
 */

/** LaMP-1 (citation identification): the answer names one of the two reference options. */
export const LAMP_1_LABELS = Object.freeze(['[1]', '[2]'] as const);

/** LaMP-2M (movie tagging): the 15 tags of LaMP-2 (as in `get_all_labels("LaMP-2")` and OPPU's prompts). */
export const LAMP_2M_TAGS = Object.freeze([
  'sci-fi',
  'based on a book',
  'comedy',
  'action',
  'twist ending',
  'dystopia',
  'dark comedy',
  'classic',
  'psychology',
  'fantasy',
  'romance',
  'thought-provoking',
  'social commentary',
  'violence',
  'true story',
] as const);

/**
 * LaMP-2N (news categorization, the first LaMP-2 release): the 15 categories, in the order the input prompt
 * lists them. (The evaluation code lists the same 15 in another order; macro-F1 does not depend on it.)
 */
export const LAMP_2N_CATEGORIES = Object.freeze([
  'travel',
  'education',
  'parents',
  'style & beauty',
  'entertainment',
  'food & drink',
  'science & technology',
  'business',
  'sports',
  'healthy living',
  'women',
  'politics',
  'crime',
  'culture & arts',
  'religion',
] as const);

/** LaMP-3 (product rating): the five scores as strings, exactly as golds carry them. */
export const LAMP_3_SCORES = Object.freeze(['1', '2', '3', '4', '5'] as const);

export type Lamp2MTag = (typeof LAMP_2M_TAGS)[number];
export type Lamp2NCategory = (typeof LAMP_2N_CATEGORIES)[number];
