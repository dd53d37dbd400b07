import { type HistoryItem, OppuError } from '@oppu/core';

/** Checks that `items` are history items (a non-empty string id, string fields); `where` names the source. */
export function validateItems(
  items: readonly unknown[],
  where: string,
): asserts items is readonly HistoryItem[] {
  if (!Array.isArray(items)) {
    throw new OppuError(
      'invalid_history',
      `${where}: expected an array of history items, got ${typeof items}`,
    );
  }
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new OppuError('invalid_history', `${where}: item ${i} is not an object`);
    }
    const id = (item as { id?: unknown }).id;
    if (typeof id !== 'string' || id.length === 0) {
      throw new OppuError(
        'invalid_history',
        `${where}: item ${i} has no "id" (a non-empty string is needed)`,
      );
    }
    if (seen.has(id)) {
      throw new OppuError(
        'invalid_history',
        `${where}: item ${i} (id ${JSON.stringify(id)}) repeats an id given earlier`,
      );
    }
    seen.add(id);
    for (const [key, value] of Object.entries(item)) {
      if (value !== undefined && typeof value !== 'string') {
        throw new OppuError(
          'invalid_history',
          `${where}: item ${i} (id ${JSON.stringify(id)}): field "${key}" is a ${typeof value}; history fields must be strings (write ${JSON.stringify(String(value))})`,
        );
      }
    }
  });
}
