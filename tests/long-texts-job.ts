/**
 * One run of the long-text story (long-texts.test.ts) in a process of its own, so that its peak RSS is its own:
 *
 *   OPPU_NATIVE=0|1 node --conditions source --import tsx tests/long-texts-job.ts
 *
 * 20 users whose history items and questions run from 5 to 5,000 words (and one 2 MB "word" without a space),
 * OPPU with retrieval and a profile end to end (`runLamp`: per-user LoRAs trained in shared batches, then
 * generation) on a small random decoder with the embedded model's real tokenizer and a 256-token context, so
 * that every prompt is cut to the context. Prints one line: `RESULT {json}`.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HistoryItem, LAMP_TASKS, runLamp, type TextRanker } from '@oppu/core';
import { Bm25, ExtractiveProfileSummarizer, oppuTokenizer } from '@oppu/retriever';
import {
  type LlamaConfig,
  randomLlamaArrays,
  saveHfCheckpoint,
  TfPeftEngine,
  wasmHeapUsage,
} from '@oppu/trainer';
import { nativeStatus } from '@oppu/trainer/kernels';

export const CONTEXT = 256;
/** Token budgets of one pass given to the engine: what the memory bound below is made of. */
export const BATCH_TOKENS = 2048;

const CONFIG: LlamaConfig = {
  dim: 64,
  hidden: 128,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  vocab: 4096, // the embedded model's tokenizer
  maxSeqLen: CONTEXT,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'half',
  tiedEmbeddings: true,
};

const WORDS = (
  'the a of to and in that is was he for it with as his on be at by had not are but from or have an they which ' +
  'one you were her all she there would their we him been has when who will more no if out so said what up its ' +
  'about into than them can only other new some could time these two may then do first any my now such like our ' +
  'over man me even most made after also did many before must through back years where much your way well down ' +
  'river market harbour council railway weather season village museum orchestra festival engineers'
).split(' ');

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** `n` words of text (with sentence ends now and then). */
function text(n: number, next: () => number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(next() * WORDS.length)] + (next() < 0.08 ? '.' : ''));
  return out.join(' ');
}

/** Word counts from 5 to 5,000, log-uniform, both ends included. */
function lengths(count: number, next: () => number, ends: boolean): number[] {
  return Array.from({ length: count }, (_, i) =>
    ends && i === 0 ? 5 : ends && i === 1 ? 5000 : Math.round(5 * 1000 ** next()),
  );
}

async function main() {
  const started = performance.now();
  const root = await mkdtemp(join(tmpdir(), 'oppu-long-texts-'));
  try {
    const dir = join(root, 'model');
    await saveHfCheckpoint(dir, CONFIG, randomLlamaArrays(CONFIG, 3));
    const tiny = join(import.meta.dirname, '..', 'packages', 'model-tiny', 'model');
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(join(tiny, f), join(dir, f));
    const engine = await TfPeftEngine.load(dir, {
      name: 'long-texts',
      onLog: () => {},
      maxBatchTokens: { training: BATCH_TOKENS, inference: BATCH_TOKENS },
    });

    const task = LAMP_TASKS.LaMP_4;
    const next = rng(2024);
    const questions = [];
    const giant = 'x'.repeat(2 * 2 ** 20); // one "word" of 2 MB, never cut by a word count
    for (let u = 0; u < 20; u++) {
      const profile: HistoryItem[] = lengths(5, next, u === 0).map((n, i) => ({
        id: `u${u}-i${i}`,
        text: u === 2 && i === 3 ? giant : text(n, next),
        title: text(3 + Math.floor(next() * 8), next),
      }));
      for (const [q, n] of lengths(2, next, u === 1).entries()) {
        const body = u === 3 && q === 0 ? giant : text(n, next);
        questions.push({
          id: `u${u}-q${q}`,
          user_id: `user${u}`,
          input: task.formatInput({ text: body }),
          profile,
        });
      }
    }
    const ranker: TextRanker = {
      topK: (docs, query, k) =>
        docs.length === 0
          ? []
          : new Bm25(docs.map(oppuTokenizer)).topN(oppuTokenizer(query), Math.min(k, docs.length)),
    };
    const result = await runLamp({
      task,
      questions,
      method: 'oppu+pag',
      engine,
      ranker,
      summarizer: new ExtractiveProfileSummarizer(),
      training: { maxSteps: 1, batchSize: 2, learningRate: 1e-2 },
      sampling: { maxNewTokens: 6 },
      usersPerBatch: 10,
      seed: 7,
    });
    // Every prompt as the model reads it (with BOS), against what the context leaves for the answer.
    const promptTokens = [...result.prompts.values()].map((p) => engine.model.tokenizer.encode(p).length);
    const heap = wasmHeapUsage();
    engine.dispose();
    const line = {
      ok: true,
      native: nativeStatus().available,
      seconds: (performance.now() - started) / 1000,
      rssMb: process.resourceUsage().maxRSS / 1024,
      heapPeakMb: heap ? heap.peakBytes / 2 ** 20 : null,
      answers: result.predictions.golds.length,
      stages: result.seconds,
      promptTokens: { min: Math.min(...promptTokens), max: Math.max(...promptTokens) },
      context: CONTEXT,
      answerTokens: 6,
    };
    console.log(`RESULT ${JSON.stringify(line)}`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.log(`RESULT ${JSON.stringify({ ok: false, error: (error as Error).message })}`);
  process.exitCode = 1;
});
