import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HistoryItem, OppuError, type UserId, userId, writeFileAtomicSync } from '@oppu/core';
import hnswlib from 'hnswlib-node';
import type { UserMemory } from './user-memory.js';

/**
 * Moves one user's memory to and from LangChain's `HNSWLib` vector store (`@langchain/community`), by its on-disk
 * format: `hnswlib.index` (hnswlib, labels 0..n-1), `args.json` ({ space, numDimensions }) and `docstore.json`
 * ([[label, { pageContent, metadata }], ...]). `HNSWLib.load(dir, embeddings)` opens what `exportToHnswlib` writes;
 * use the same embeddings (`memory.embeddings`) to query it.
 */
export async function exportToHnswlib(memory: UserMemory, user: UserId, directory: string): Promise<number> {
  const u = userId(user);
  if (!memory.embeddings)
    throw new OppuError('retriever_options', `exportToHnswlib(${u}): the memory has no embeddings`);
  const items = await memory.items(u);
  if (items.length === 0)
    throw new OppuError('empty_history', `exportToHnswlib(${u}): the user has no items to export`);
  const texts = items.map((it) => memory.textOf(it));
  const vectors = await memory.embeddings.embedDocuments(texts);
  const dim = (vectors[0] as number[]).length;
  const index = new hnswlib.HierarchicalNSW('cosine', dim);
  index.initIndex(items.length);
  vectors.forEach((v, i) => {
    index.addPoint(v, i);
  });
  writeFileAtomicSync(join(directory, 'hnswlib.index'), (tmp) => index.writeIndexSync(tmp));
  writeFileAtomicSync(join(directory, 'args.json'), JSON.stringify({ space: 'cosine', numDimensions: dim }));
  const docstore = items.map(
    (it, i) => [String(i), { pageContent: texts[i], metadata: { ...it }, id: it.id }] as const,
  );
  writeFileAtomicSync(join(directory, 'docstore.json'), JSON.stringify(docstore));
  return items.length;
}

/**
 * Reads an `HNSWLib` store's documents and adds them to the user's memory (re-embedded with the memory's model).
 * Item ids come from `metadata.id` (else `hnswlib-<label>`); string metadata become fields; `pageContent` becomes
 * the `text` field unless the metadata already has one.
 */
export async function importFromHnswlib(
  memory: UserMemory,
  user: UserId,
  directory: string,
): Promise<HistoryItem[]> {
  const u = userId(user);
  const path = join(directory, 'docstore.json');
  let entries: [string, { pageContent?: unknown; metadata?: Record<string, unknown> }][];
  try {
    entries = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new OppuError(
      'hnswlib_import',
      `${path}: cannot read the HNSWLib docstore (${(error as Error).message})`,
      { cause: error },
    );
  }
  if (!Array.isArray(entries))
    throw new OppuError('hnswlib_import', `${path}: expected an array of [id, document] pairs`);
  const items = entries.map(([label, doc], i) => {
    if (!doc || typeof doc !== 'object')
      throw new OppuError('hnswlib_import', `${path}: entry ${i} has no document`);
    const item: Record<string, string> = {};
    for (const [k, v] of Object.entries(doc.metadata ?? {})) if (typeof v === 'string') item[k] = v;
    item.id ??= `hnswlib-${label}`;
    if (item.text === undefined && typeof doc.pageContent === 'string') item.text = doc.pageContent;
    return item as HistoryItem;
  });
  await memory.add(u, items);
  return items;
}
