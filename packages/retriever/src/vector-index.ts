import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { OppuError, writeFileAtomicSync } from '@oppu/core';
import hnswlib from 'hnswlib-node';

const { HierarchicalNSW } = hnswlib;

/**
 * Below this many live vectors a search scans every vector instead of walking the HNSW graph: it is exact and,
 * at these sizes, faster. Crossover measured by `pnpm --filter @oppu/retriever bench` (docs/benchmarks.md, "Retriever"):
 * brute force 0.020 ms vs HNSW 0.023 ms at 100 vectors, 0.045 vs 0.028 ms at 250.
 */
export const DEFAULT_BRUTE_FORCE_BELOW = 150;

export interface VectorIndexOptions {
  /** HNSW graph degree (hnswlib M); default 16. */
  readonly m?: number;
  /** Candidate list size while building; default 200. */
  readonly efConstruction?: number;
  /** Candidate list size while searching (raised to k when k is larger); default 64. */
  readonly ef?: number;
  /** Scan every vector below this many live vectors; default DEFAULT_BRUTE_FORCE_BELOW. 0 always uses HNSW. */
  readonly bruteForceBelow?: number;
  /** First capacity; it doubles when full. Default 256. */
  readonly initialCapacity?: number;
  /** hnswlib's random seed for level assignment; default 100 (hnswlib's own default). */
  readonly seed?: number;
  /** Written to the sidecar and checked on load, e.g. the user id, so one user's files are never read as another's. */
  readonly owner?: string;
  /** Names the embedding model; an index built by another model is refused on load. */
  readonly embedder?: string;
}

export interface VectorFilter {
  /** Only entries dated strictly before this; undated entries are left out when it is set. */
  readonly before?: string;
  readonly exclude?: ReadonlySet<string>;
}

export interface VectorHit {
  readonly id: string;
  /** Cosine similarity, 1 for the same direction. */
  readonly score: number;
}

interface Entry {
  readonly id: string;
  readonly date: string | undefined;
  /** Unit-length copy, for brute-force search and export. */
  readonly vector: Float32Array;
}

interface Sidecar {
  readonly format: 'oppu-hnsw';
  readonly version: 1;
  readonly owner: string | null;
  readonly embedder: string | null;
  readonly dim: number;
  readonly space: 'cosine';
  readonly m: number;
  readonly efConstruction: number;
  readonly seed: number;
  readonly nextLabel: number;
  readonly indexFile: string;
  readonly indexSha256: string;
  /** [label, item id, date or null] */
  readonly entries: readonly (readonly [number, string, string | null])[];
}

export const SIDECAR_FILE = 'vectors.json';

function unit(vector: ArrayLike<number>, dim: number, where: string): Float32Array {
  if (vector.length !== dim) {
    throw new OppuError(
      'vector_dim',
      `${where}: vector has ${vector.length} dimensions, the index has ${dim}`,
    );
  }
  const out = Float32Array.from(vector);
  let norm = 0;
  for (let i = 0; i < dim; i++) norm += (out[i] as number) * (out[i] as number);
  if (!(norm > 0) || !Number.isFinite(norm)) {
    throw new OppuError(
      'vector_zero',
      `${where}: vector is zero or not finite; cosine search needs a direction`,
    );
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dim; i++) out[i] = (out[i] as number) / norm;
  return out;
}

/**
 * One user's vectors: an hnswlib HNSW graph (cosine) plus a label -> item map. Updates mark the old point
 * deleted and reuse deleted slots; capacity doubles when full. Saved as a folder: the index file, named by its
 * hash, and `vectors.json`, written last by rename, which commits the save.
 */
export class VectorIndex {
  readonly dim: number;
  private readonly m: number;
  private readonly efConstruction: number;
  private readonly ef: number;
  private readonly seed: number;
  readonly bruteForceBelow: number;
  readonly owner: string | undefined;
  readonly embedder: string | undefined;
  private hnsw: InstanceType<typeof HierarchicalNSW>;
  private readonly byLabel = new Map<number, Entry>();
  private readonly labelOf = new Map<string, number>();
  private deletedSlots = 0;
  private nextLabel = 0;

  constructor(dim: number, options: VectorIndexOptions = {}) {
    if (!Number.isInteger(dim) || dim < 1)
      throw new OppuError('vector_dim', `VectorIndex: dim ${dim} must be a positive integer`);
    this.dim = dim;
    this.m = options.m ?? 16;
    this.efConstruction = options.efConstruction ?? 200;
    this.ef = options.ef ?? 64;
    this.seed = options.seed ?? 100;
    this.bruteForceBelow = options.bruteForceBelow ?? DEFAULT_BRUTE_FORCE_BELOW;
    this.owner = options.owner;
    this.embedder = options.embedder;
    this.hnsw = new HierarchicalNSW('cosine', dim);
    this.hnsw.initIndex(options.initialCapacity ?? 256, this.m, this.efConstruction, this.seed, true);
  }

  /** Live (not deleted) vectors. */
  get size(): number {
    return this.byLabel.size;
  }

  get capacity(): number {
    return this.hnsw.getMaxElements();
  }

  has(id: string): boolean {
    return this.labelOf.has(id);
  }

  ids(): string[] {
    return [...this.byLabel.values()].map((e) => e.id);
  }

  /** The stored unit vector of an item. */
  vectorOf(id: string): Float32Array | undefined {
    const label = this.labelOf.get(id);
    return label === undefined ? undefined : this.byLabel.get(label)?.vector;
  }

  /** Adds an item's vector, or replaces it if the id is present. */
  upsert(id: string, vector: ArrayLike<number>, date?: string): void {
    const v = unit(vector, this.dim, `vector of item ${JSON.stringify(id)}`);
    if (this.labelOf.has(id)) this.delete(id);
    const label = this.nextLabel++;
    if (this.deletedSlots > 0) {
      this.hnsw.addPoint(Array.from(v), label, true);
      this.deletedSlots--;
    } else {
      if (this.hnsw.getCurrentCount() >= this.hnsw.getMaxElements()) {
        this.hnsw.resizeIndex(Math.max(16, this.hnsw.getMaxElements() * 2));
      }
      this.hnsw.addPoint(Array.from(v), label, false);
    }
    this.byLabel.set(label, { id, date, vector: v });
    this.labelOf.set(id, label);
  }

  /** Marks an item deleted (its slot is reused by the next add); false if it was not there. */
  delete(id: string): boolean {
    const label = this.labelOf.get(id);
    if (label === undefined) return false;
    this.hnsw.markDelete(label);
    this.byLabel.delete(label);
    this.labelOf.delete(id);
    this.deletedSlots++;
    return true;
  }

  /** The k nearest items by cosine similarity, best first, among those the filter lets through. */
  search(query: ArrayLike<number>, k: number, filter: VectorFilter = {}): VectorHit[] {
    if (k <= 0 || this.byLabel.size === 0) return [];
    const q = unit(query, this.dim, 'query vector');
    const pass = makePass(filter);
    if (this.byLabel.size < this.bruteForceBelow) return this.bruteForce(q, k, pass);
    const kk = Math.min(k, this.byLabel.size);
    this.hnsw.setEf(Math.max(this.ef, kk));
    const filterFn = pass ? (label: number) => pass(this.byLabel.get(label)) : undefined;
    const result = this.hnsw.searchKnn(Array.from(q), kk, filterFn);
    return result.neighbors.map((label, i) => ({
      id: (this.byLabel.get(label) as Entry).id,
      score: 1 - (result.distances[i] as number),
    }));
  }

  /** Exact search over every live vector (the ground truth HNSW is measured against). */
  searchExact(query: ArrayLike<number>, k: number, filter: VectorFilter = {}): VectorHit[] {
    if (k <= 0 || this.byLabel.size === 0) return [];
    return this.bruteForce(unit(query, this.dim, 'query vector'), k, makePass(filter));
  }

  private bruteForce(
    q: Float32Array,
    k: number,
    pass: ((e: Entry | undefined) => boolean) | undefined,
  ): VectorHit[] {
    // keep the k best in a small sorted buffer (k is small next to the index)
    const ids: string[] = [];
    const scores: number[] = [];
    const dim = this.dim;
    for (const entry of this.byLabel.values()) {
      if (pass && !pass(entry)) continue;
      const v = entry.vector;
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += (q[i] as number) * (v[i] as number);
      if (scores.length === k && dot <= (scores[k - 1] as number)) continue;
      let at = scores.length;
      while (at > 0 && dot > (scores[at - 1] as number)) at--;
      ids.splice(at, 0, entry.id);
      scores.splice(at, 0, dot);
      if (scores.length > k) {
        ids.pop();
        scores.pop();
      }
    }
    return ids.map((id, i) => ({ id, score: scores[i] as number }));
  }

  /** Saves to `dir` atomically (see the class comment); removes the index file the previous save wrote. */
  save(dir: string): void {
    let previous: string | undefined;
    try {
      previous = (JSON.parse(readFileSync(join(dir, SIDECAR_FILE), 'utf8')) as Sidecar).indexFile;
    } catch {
      previous = undefined;
    }
    const staging = `vectors.${process.pid}.${Date.now()}.hnsw`;
    writeFileAtomicSync(join(dir, staging), (tmp) => this.hnsw.writeIndexSync(tmp));
    const bytes = readFileSync(join(dir, staging));
    const sha = createHash('sha256').update(bytes).digest('hex');
    const indexFile = `vectors.${sha.slice(0, 16)}.hnsw`;
    if (indexFile !== staging) {
      writeFileAtomicSync(join(dir, indexFile), bytes);
      rmSync(join(dir, staging), { force: true });
    }
    const sidecar: Sidecar = {
      format: 'oppu-hnsw',
      version: 1,
      owner: this.owner ?? null,
      embedder: this.embedder ?? null,
      dim: this.dim,
      space: 'cosine',
      m: this.m,
      efConstruction: this.efConstruction,
      seed: this.seed,
      nextLabel: this.nextLabel,
      indexFile,
      indexSha256: sha,
      entries: [...this.byLabel].map(([label, e]) => [label, e.id, e.date ?? null] as const),
    };
    writeFileAtomicSync(join(dir, SIDECAR_FILE), JSON.stringify(sidecar));
    if (previous && previous !== indexFile && /^vectors\.[0-9a-f]{16}\.hnsw$/.test(previous)) {
      rmSync(join(dir, previous), { force: true });
    }
  }

  /** True if `dir` holds a saved index. */
  static exists(dir: string): boolean {
    return existsSync(join(dir, SIDECAR_FILE));
  }

  /**
   * Loads what `save` wrote. Throws OppuError `index_corrupt` (damaged or missing files; checked by sha256
   * before hnswlib reads a byte) or `index_mismatch` (another owner, embedder or dimension).
   */
  static load(dir: string, options: VectorIndexOptions = {}): VectorIndex {
    const sidecarPath = join(dir, SIDECAR_FILE);
    const corrupt = (what: string, cause?: unknown) =>
      new OppuError(
        'index_corrupt',
        `${dir}: vector index is damaged (${what}); rebuild it from the history store`,
        {
          cause,
        },
      );
    let sidecar: Sidecar;
    try {
      sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8')) as Sidecar;
    } catch (error) {
      throw corrupt(`${SIDECAR_FILE} cannot be read as JSON: ${(error as Error).message}`, error);
    }
    if (sidecar?.format !== 'oppu-hnsw' || sidecar.version !== 1 || !Array.isArray(sidecar.entries)) {
      throw corrupt(`${SIDECAR_FILE} is not an oppu-hnsw version 1 sidecar`);
    }
    const mismatch = (what: string) =>
      new OppuError('index_mismatch', `${dir}: vector index ${what}; rebuild it from the history store`);
    if ((options.owner ?? null) !== sidecar.owner) {
      throw mismatch(
        `belongs to ${JSON.stringify(sidecar.owner)}, not ${JSON.stringify(options.owner ?? null)}`,
      );
    }
    if (options.embedder !== undefined && options.embedder !== sidecar.embedder) {
      throw mismatch(
        `was built by embedder ${JSON.stringify(sidecar.embedder)}, not ${JSON.stringify(options.embedder)}`,
      );
    }
    if (typeof sidecar.indexFile !== 'string' || !/^vectors\.[0-9a-f]{16}\.hnsw$/.test(sidecar.indexFile)) {
      throw corrupt(`${SIDECAR_FILE} names no index file`);
    }
    const indexPath = join(dir, sidecar.indexFile);
    let bytes: Buffer;
    try {
      bytes = readFileSync(indexPath);
    } catch (error) {
      throw corrupt(`${sidecar.indexFile} is missing`, error);
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== sidecar.indexSha256) {
      throw corrupt(
        `${sidecar.indexFile} has sha256 ${sha.slice(0, 12)}…, the sidecar recorded ${String(sidecar.indexSha256).slice(0, 12)}…`,
      );
    }
    const index = new VectorIndex(sidecar.dim, {
      ...options,
      m: sidecar.m,
      efConstruction: sidecar.efConstruction,
      seed: sidecar.seed,
      owner: sidecar.owner ?? undefined,
      embedder: sidecar.embedder ?? undefined,
    });
    try {
      index.hnsw.readIndexSync(indexPath, true);
    } catch (error) {
      throw corrupt(`hnswlib cannot read ${sidecar.indexFile}: ${(error as Error).message}`, error);
    }
    const live = new Set<number>();
    for (const [label, id, date] of sidecar.entries) {
      let point: number[];
      try {
        point = index.hnsw.getPoint(label);
      } catch (error) {
        throw corrupt(`label ${label} (item ${JSON.stringify(id)}) is not in the index file`, error);
      }
      index.byLabel.set(label, { id, date: date ?? undefined, vector: Float32Array.from(point) });
      index.labelOf.set(id, label);
      live.add(label);
    }
    index.nextLabel = sidecar.nextLabel;
    index.deletedSlots = index.hnsw.getCurrentCount() - live.size;
    return index;
  }
}

function makePass(filter: VectorFilter): ((e: Entry | undefined) => boolean) | undefined {
  const { before, exclude } = filter;
  if (before === undefined && (exclude === undefined || exclude.size === 0)) return undefined;
  return (e) => {
    if (!e) return false;
    if (before !== undefined && (e.date === undefined || !(e.date < before))) return false;
    if (exclude?.has(e.id)) return false;
    return true;
  };
}
