/**
 * Trains the package's default word vectors: PPMI + truncated SVD (Levy, Goldberg, Dagan 2015) over the npm-shipped
 * corpora in ./corpora.ts, then the SIF common component (Arora et al. 2017). Seeded and deterministic: the same
 * corpora versions give the same file.
 *
 *   pnpm --filter @oppu/retriever train-embeddings        (about a minute on one core)
 *
 * Writes assets/word-vectors.oppuwv and assets/word-vectors.json (what it was trained on, for people).
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mulberry32, writeFileAtomicSync } from '@oppu/core';
import { embeddingTokens, WordVectors, type WordVectorsHeader } from '../src/word-vectors.js';
import { corpusVersions, trainingDocs } from './corpora.js';

export const SETTINGS = Object.freeze({
  vocab: 20_000,
  minCount: 5,
  window: 5, // symmetric, weight 1/distance
  cdsAlpha: 0.75, // context distribution smoothing
  dim: 96,
  oversample: 16,
  powerIterations: 3,
  eigenWeight: 0.5, // W = U * S^0.5
  sifA: 1e-3,
  commonComponentSample: 20_000,
  seed: 20_240_601,
});

const log = (msg: string) => process.stderr.write(`[train-embeddings] ${msg}\n`);

/** The project's seeded PRNG (core's mulberry32): uniform in [0, 1). */
const rng = mulberry32;
function gaussian(next: () => number) {
  return () => {
    const u = Math.max(next(), 1e-300);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
}

/** Compressed sparse rows. */
interface Csr {
  readonly n: number;
  readonly ptr: Int32Array;
  readonly col: Int32Array;
  readonly val: Float64Array;
}

/** Y = M X; X is row-major [n, l]. */
function mul(m: Csr, x: Float64Array, l: number): Float64Array {
  const y = new Float64Array(m.n * l);
  for (let i = 0; i < m.n; i++) {
    const yi = i * l;
    for (let p = m.ptr[i] as number; p < (m.ptr[i + 1] as number); p++) {
      const v = m.val[p] as number;
      const xk = (m.col[p] as number) * l;
      for (let c = 0; c < l; c++) y[yi + c] = (y[yi + c] as number) + v * (x[xk + c] as number);
    }
  }
  return y;
}

/** Y = M^T X; X is row-major [n, l]. */
function mulT(m: Csr, x: Float64Array, l: number): Float64Array {
  const y = new Float64Array(m.n * l);
  for (let i = 0; i < m.n; i++) {
    const xi = i * l;
    for (let p = m.ptr[i] as number; p < (m.ptr[i + 1] as number); p++) {
      const v = m.val[p] as number;
      const yk = (m.col[p] as number) * l;
      for (let c = 0; c < l; c++) y[yk + c] = (y[yk + c] as number) + v * (x[xi + c] as number);
    }
  }
  return y;
}

/** G = A^T B for row-major [n, l] A and B: [l, l]. */
function gram(a: Float64Array, b: Float64Array, n: number, l: number): Float64Array {
  const g = new Float64Array(l * l);
  for (let i = 0; i < n; i++) {
    const o = i * l;
    for (let r = 0; r < l; r++) {
      const ar = a[o + r] as number;
      if (ar === 0) continue;
      for (let c = 0; c < l; c++) g[r * l + c] = (g[r * l + c] as number) + ar * (b[o + c] as number);
    }
  }
  return g;
}

/** Orthonormalises the columns of row-major [n, l] Y in place (CholeskyQR2). */
function orthonormalize(y: Float64Array, n: number, l: number): void {
  for (let pass = 0; pass < 2; pass++) {
    const g = gram(y, y, n, l);
    // Cholesky G = R^T R (upper R), with a tiny ridge for safety
    const r = new Float64Array(l * l);
    for (let j = 0; j < l; j++) {
      let d = (g[j * l + j] as number) * (1 + 1e-12) + 1e-300;
      for (let k = 0; k < j; k++) d -= (r[k * l + j] as number) ** 2;
      const rjj = Math.sqrt(Math.max(d, 1e-300));
      r[j * l + j] = rjj;
      for (let c = j + 1; c < l; c++) {
        let s = g[j * l + c] as number;
        for (let k = 0; k < j; k++) s -= (r[k * l + j] as number) * (r[k * l + c] as number);
        r[j * l + c] = s / rjj;
      }
    }
    // Y <- Y R^-1, row by row (forward substitution)
    const row = new Float64Array(l);
    for (let i = 0; i < n; i++) {
      const o = i * l;
      for (let c = 0; c < l; c++) {
        let s = y[o + c] as number;
        for (let k = 0; k < c; k++) s -= (row[k] as number) * (r[k * l + c] as number);
        row[c] = s / (r[c * l + c] as number);
      }
      y.set(row, o);
    }
  }
}

/** Eigen-decomposition of a symmetric [l, l] matrix by cyclic Jacobi; returns values and row-major vectors (columns). */
function jacobiEigen(a0: Float64Array, l: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(a0);
  const v = new Float64Array(l * l);
  for (let i = 0; i < l; i++) v[i * l + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < l; p++) for (let q = p + 1; q < l; q++) off += (a[p * l + q] as number) ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < l; p++) {
      for (let q = p + 1; q < l; q++) {
        const apq = a[p * l + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = ((a[q * l + q] as number) - (a[p * l + p] as number)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < l; k++) {
          const akp = a[k * l + p] as number;
          const akq = a[k * l + q] as number;
          a[k * l + p] = c * akp - s * akq;
          a[k * l + q] = s * akp + c * akq;
        }
        for (let k = 0; k < l; k++) {
          const apk = a[p * l + k] as number;
          const aqk = a[q * l + k] as number;
          a[p * l + k] = c * apk - s * aqk;
          a[q * l + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < l; k++) {
          const vkp = v[k * l + p] as number;
          const vkq = v[k * l + q] as number;
          v[k * l + p] = c * vkp - s * vkq;
          v[k * l + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(l);
  for (let i = 0; i < l; i++) values[i] = a[i * l + i] as number;
  return { values, vectors: v };
}

export function train(): { vectors: WordVectors; report: Record<string, unknown> } {
  const S = SETTINGS;
  const t0 = Date.now();
  const docs = trainingDocs();
  const tokenized = docs.map((d) => embeddingTokens(d.text));
  const counts = new Map<string, number>();
  let totalTokens = 0;
  for (const toks of tokenized) {
    for (const t of toks) counts.set(t, (counts.get(t) ?? 0) + 1);
    totalTokens += toks.length;
  }
  const words = [...counts]
    .filter(([, c]) => c >= S.minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, S.vocab)
    .map(([w]) => w);
  const V = words.length;
  const id = new Map(words.map((w, i) => [w, i]));
  log(
    `${docs.length} documents, ${totalTokens} tokens, vocabulary ${V} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );

  // co-occurrence within the window, weighted 1/distance, both directions; out-of-vocabulary words keep their place
  const rows: Map<number, number>[] = Array.from({ length: V }, () => new Map());
  for (const toks of tokenized) {
    const ids = toks.map((t) => id.get(t) ?? -1);
    for (let i = 0; i < ids.length; i++) {
      const a = ids[i] as number;
      if (a < 0) continue;
      const end = Math.min(ids.length, i + S.window + 1);
      for (let j = i + 1; j < end; j++) {
        const b = ids[j] as number;
        if (b < 0) continue;
        const w = 1 / (j - i);
        const ra = rows[a] as Map<number, number>;
        const rb = rows[b] as Map<number, number>;
        ra.set(b, (ra.get(b) ?? 0) + w);
        rb.set(a, (rb.get(a) ?? 0) + w);
      }
    }
  }
  const rowSum = new Float64Array(V);
  let total = 0;
  let nnz = 0;
  rows.forEach((r, i) => {
    for (const v of r.values()) rowSum[i] = (rowSum[i] as number) + v;
    total += rowSum[i] as number;
    nnz += r.size;
  });
  let smoothed = 0;
  for (let c = 0; c < V; c++) smoothed += (rowSum[c] as number) ** S.cdsAlpha;
  log(`co-occurrences: ${nnz} pairs (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  // PPMI with context distribution smoothing, as CSR with sorted columns
  const ptr = new Int32Array(V + 1);
  const colList: number[] = [];
  const valList: number[] = [];
  for (let i = 0; i < V; i++) {
    const entries = [...(rows[i] as Map<number, number>)].sort((x, y) => x[0] - y[0]);
    for (const [c, x] of entries) {
      const pmi =
        Math.log(x / total) -
        Math.log((rowSum[i] as number) / total) -
        Math.log((rowSum[c] as number) ** S.cdsAlpha / smoothed);
      if (pmi > 0) {
        colList.push(c);
        valList.push(pmi);
      }
    }
    ptr[i + 1] = colList.length;
    rows[i] = new Map(); // free as we go
  }
  const M: Csr = { n: V, ptr, col: Int32Array.from(colList), val: Float64Array.from(valList) };
  log(`PPMI: ${M.val.length} positive entries (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  // randomized truncated SVD (Halko, Martinsson, Tropp 2011)
  const l = S.dim + S.oversample;
  const g = gaussian(rng(S.seed));
  const omega = Float64Array.from({ length: V * l }, g);
  let Y = mul(M, omega, l);
  orthonormalize(Y, V, l);
  for (let it = 0; it < S.powerIterations; it++) {
    const Z = mulT(M, Y, l);
    orthonormalize(Z, V, l);
    Y = mul(M, Z, l);
    orthonormalize(Y, V, l);
    log(`power iteration ${it + 1}/${S.powerIterations} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  // B = Q^T M; B B^T = (M^T Q)^T (M^T Q)
  const MtQ = mulT(M, Y, l);
  const { values, vectors: E } = jacobiEigen(gram(MtQ, MtQ, V, l), l);
  const order = Array.from({ length: l }, (_, i) => i).sort(
    (a, b) => (values[b] as number) - (values[a] as number),
  );
  const sigma = order.slice(0, S.dim).map((i) => Math.sqrt(Math.max(values[i] as number, 0)));
  // U = Q E; W = U * sigma^p; rows to unit length
  const W = new Float32Array(V * S.dim);
  for (let w = 0; w < V; w++) {
    let norm = 0;
    const out = new Float64Array(S.dim);
    for (let d = 0; d < S.dim; d++) {
      const e = order[d] as number;
      let u = 0;
      for (let k = 0; k < l; k++) u += (Y[w * l + k] as number) * (E[k * l + e] as number);
      // fix the sign of each component: its largest-magnitude entry over the vocabulary is made positive below
      out[d] = u * (sigma[d] as number) ** S.eigenWeight;
    }
    for (let d = 0; d < S.dim; d++) norm += (out[d] as number) ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let d = 0; d < S.dim; d++) W[w * S.dim + d] = (out[d] as number) / norm;
  }
  for (let d = 0; d < S.dim; d++) {
    let best = 0;
    for (let w = 0; w < V; w++)
      if (Math.abs(W[w * S.dim + d] as number) > Math.abs(best)) best = W[w * S.dim + d] as number;
    if (best < 0) for (let w = 0; w < V; w++) W[w * S.dim + d] = -(W[w * S.dim + d] as number);
  }
  log(
    `SVD: top singular values ${sigma
      .slice(0, 4)
      .map((s) => s.toFixed(1))
      .join(', ')} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );

  // SIF common component: first singular vector of SIF-weighted means of sampled training lines
  const vocabCounts = words.map((w) => counts.get(w) as number);
  const vocabTotal = totalTokens;
  const lines = docs.flatMap((d) => d.text.split(/\n+/)).filter((s) => s.trim().length > 0);
  const pick = rng(S.seed + 1);
  const sample: Float64Array[] = [];
  for (let i = 0; i < S.commonComponentSample && lines.length > 0; i++) {
    const line = lines[Math.floor(pick() * lines.length)] as string;
    const e = new Float64Array(S.dim);
    let n = 0;
    for (const t of embeddingTokens(line)) {
      const k = id.get(t);
      if (k === undefined) continue;
      const weight = S.sifA / (S.sifA + (vocabCounts[k] as number) / vocabTotal);
      for (let d = 0; d < S.dim; d++) e[d] = (e[d] as number) + weight * (W[k * S.dim + d] as number);
      n++;
    }
    if (n === 0) continue;
    for (let d = 0; d < S.dim; d++) e[d] = (e[d] as number) / n;
    sample.push(e);
  }
  let u = Float64Array.from({ length: S.dim }, () => 1 / Math.sqrt(S.dim));
  for (let it = 0; it < 100; it++) {
    const next = new Float64Array(S.dim);
    for (const e of sample) {
      let dot = 0;
      for (let d = 0; d < S.dim; d++) dot += (e[d] as number) * (u[d] as number);
      for (let d = 0; d < S.dim; d++) next[d] = (next[d] as number) + dot * (e[d] as number);
    }
    const norm = Math.sqrt(next.reduce((s, x) => s + x * x, 0));
    u = next.map((x) => x / norm);
  }

  const settingsHash = createHash('sha256')
    .update(JSON.stringify({ S, corpora: corpusVersions() }))
    .digest('hex');
  const header: WordVectorsHeader = {
    format: 'oppuwv',
    version: 1,
    dim: S.dim,
    words,
    counts: vocabCounts,
    totalCount: vocabTotal,
    sifA: S.sifA,
    commonComponent: Array.from(u, (x) => Math.fround(x)),
    meta: {
      id: `ppmi-svd-${settingsHash.slice(0, 8)}`,
      method:
        'PPMI (window 5, 1/distance, context smoothing 0.75) + randomized truncated SVD, W = U S^0.5, unit rows; SIF',
      settings: S,
      corpora: corpusVersions(),
      documents: docs.length,
      tokens: totalTokens,
      script: 'packages/retriever/scripts/train-embeddings.ts',
    },
  };
  const report = { ...header.meta, seconds: (Date.now() - t0) / 1000, ppmiEntries: M.val.length };
  return { vectors: new WordVectors(header, W), report };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { vectors, report } = train();
  const bytes = vectors.encode();
  const asset = new URL('../assets/word-vectors.oppuwv', import.meta.url);
  writeFileAtomicSync(fileURLToPath(asset), bytes);
  const { words: _w, counts: _c, commonComponent: _u, ...rest } = vectors.header;
  writeFileAtomicSync(
    fileURLToPath(new URL('../assets/word-vectors.json', import.meta.url)),
    `${JSON.stringify({ ...rest, vocabulary: vectors.size, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }, null, 2)}\n`,
  );
  // a look at what it learned
  const reload = WordVectors.decode(bytes);
  for (const probe of ['whale', 'president', 'dog', 'money', 'happy', 'music']) {
    const i = reload.indexOf(probe);
    if (i === undefined) continue;
    const q = reload.row(i);
    const near = reload.header.words
      .map((w, k) => ({ w, s: reload.row(k).reduce((s, x, d) => s + x * (q[d] as number), 0) }))
      .sort((a, b) => b.s - a.s)
      .slice(1, 7)
      .map((x) => x.w);
    log(`${probe}: ${near.join(', ')}`);
  }
  log(`wrote ${fileURLToPath(asset)} (${(bytes.length / 1e6).toFixed(2)} MB) in ${report.seconds} s`);
}
