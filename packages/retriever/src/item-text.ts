import { type HistoryItem, OppuError } from '@oppu/core';

export type ItemFormatter = (item: HistoryItem) => string;

/**
 * The text of an item that retrieval indexes: the given `fields` joined by a space (OPPU formats with templates;
 * pass `format` for that), or every string field but `id` and `date` when no fields are named. Items lacking
 * every named field are refused with an error naming the item and the fields; with `strict`, lacking any is.
 */
export function itemText(
  item: HistoryItem,
  fields: readonly string[] | undefined,
  strict = false,
  where = 'history',
): string {
  if (!fields || fields.length === 0) {
    return Object.entries(item)
      .filter(([k, v]) => k !== 'id' && k !== 'date' && typeof v === 'string')
      .map(([, v]) => v)
      .join(' ');
  }
  const present = fields.filter((f) => typeof item[f] === 'string');
  const missing = fields.filter((f) => typeof item[f] !== 'string');
  if (present.length === 0 || (strict && missing.length > 0)) {
    const has = Object.keys(item).filter((k) => k !== 'id');
    throw new OppuError(
      'missing_fields',
      `${where}: item ${JSON.stringify(item.id)} has no ${missing.map((f) => `"${f}"`).join(', ')} field${missing.length > 1 ? 's' : ''} (it has ${has.map((f) => `"${f}"`).join(', ') || 'no fields'}); index it with the task's fields or fix the item`,
    );
  }
  return present.map((f) => item[f] as string).join(' ');
}

export interface Ranked {
  readonly id: string;
}

/**
 * Reciprocal rank fusion (Cormack, Clarke, Buettcher 2009): score(d) = sum over lists of 1 / (k + rank(d)), rank
 * from 1. Returns ids by fused score, ties by first appearance.
 */
export function reciprocalRankFusion(
  lists: readonly (readonly Ranked[])[],
  k = 60,
): { id: string; score: number }[] {
  const scores = new Map<string, number>();
  for (const list of lists) {
    list.forEach((r, i) => {
      scores.set(r.id, (scores.get(r.id) ?? 0) + 1 / (k + i + 1));
    });
  }
  return [...scores].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score);
}

/** A recency multiplier in [1 - weight, 1]: 1 for the newest date, halving its distance to 1 - weight every half-life. */
export function recencyFactor(
  date: string | undefined,
  newest: number,
  halfLifeDays: number,
  weight: number,
): number {
  if (date === undefined) return 1 - weight;
  const t = Date.parse(date);
  if (Number.isNaN(t)) return 1 - weight;
  const ageDays = Math.max(0, (newest - t) / 86_400_000);
  return 1 - weight + weight * 0.5 ** (ageDays / halfLifeDays);
}
