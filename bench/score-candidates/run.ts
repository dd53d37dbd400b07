/**
 * Label scoring and decoding speed of `TfBaseModel` on the embedded model (wasm backend, the engine's kernels).
 *   score   16 prompts (~150 tokens each) x LaMP_2M's 15 tags: one `score()` call per candidate, the library's
 *           `scoreCandidates` (each prompt prefilled once, candidates scored from its KV cache), and the other
 *           batched design written out here for comparison (one row per prompt + candidate, left-padded,
 *           no cache); prints the time of each and the largest difference from `score()` (+ the EOS term).
 *   decode  batch-1 decoding speed, greedy and sampled, with `repetitionPenalty` / `noRepeatNgramSize` off
 *           (the default path) and on.
 * Times are medians over --repeats runs after one warm-up run; wasm runs single-threaded (--threads).
 *
 *   pnpm bench:score-candidates [--modes score,decode] [--repeats 3] [--threads 1] [--tokens 128]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { LAMP_2M_TAGS } from '@oppu/core';
import { createEngine } from '@oppu/node';
import { initBackend } from '@oppu/trainer';
import { kernelsInfo } from '@oppu/trainer/kernels';
import { cpuModel, median, tf } from '../bench-env.js';

const { values } = parseArgs({
  options: {
    modes: { type: 'string', default: 'score,decode' },
    repeats: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
    tokens: { type: 'string', default: '128' },
  },
});
const modes = new Set(values.modes.split(','));
const repeats = Number(values.repeats);

const backend = await initBackend({ backend: 'wasm', wasmThreads: Number(values.threads), log: () => {} });
const engine = await createEngine({ onLog: () => {} });
const model = engine.model;
const kernels = kernelsInfo();
console.log(
  `${model.info.name} (${(model.info.parameters / 1e6).toFixed(2)}M parameters), backend ${backend.name} x${backend.threads}, matMul ${kernels.matMul}; ${cpuModel()}; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

async function time(fn: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  await fn();
  const ms: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { ms: median(ms), cpuMs: median(cpu) };
}

if (modes.has('score')) {
  const words =
    'the a movie about man woman city war love story old new dark light sea ship crew captain'.split(' ');
  const prompts = Array.from({ length: 16 }, (_, i) => {
    let text = `Which tag does this movie relate to among the following tags? [${LAMP_2M_TAGS.join(', ')}] description:`;
    for (let j = 0; model.tokenize(text).length < 148; j++)
      text += ` ${words[(i * 7 + j * 3) % words.length]}`;
    return `${text} tag:`;
  });
  const candidates = [...LAMP_2M_TAGS];
  const requests = prompts.map((prompt) => ({ prompt, candidates }));
  const promptTokens = prompts.map((p) => model.tokenizer.encode(p).length);
  console.log(
    `score: ${prompts.length} prompts of ${Math.min(...promptTokens)}-${Math.max(...promptTokens)} tokens x ${candidates.length} candidates`,
  );
  const eos = model.tokenizer.eosId as number;
  const V = model.info.vocabSize;

  // One score() per candidate, plus the EOS term the batched scores include.
  const perCandidate = async () => {
    const out: number[][] = [];
    for (const prompt of prompts) {
      const row: number[] = [];
      for (const c of candidates) row.push(await model.score({ prompt, completion: ` ${c}` }));
      out.push(row);
    }
    return out;
  };
  // The design not taken: a row per (prompt, candidate), left-padded, no cache, logits of the answer only.
  const paddedRows = async () => {
    const rows = prompts.flatMap((p) =>
      candidates.map((c) => ({ prompt: model.tokenizer.encode(p), answer: [...model.answerIds(c), eos] })),
    );
    const budget = 8192;
    const out: number[] = [];
    for (let start = 0; start < rows.length; ) {
      let end = start;
      let len = 0;
      while (end < rows.length) {
        const r = rows[end]!;
        const l = Math.max(len, r.prompt.length + r.answer.length - 1);
        if (end > start && (end - start + 1) * l > budget) break;
        len = l;
        end++;
      }
      const batch = rows.slice(start, end);
      const keep = Math.max(...batch.map((r) => r.answer.length));
      const ids = batch.map((r) => {
        const seq = [...r.prompt, ...r.answer.slice(0, -1)];
        return [...new Array<number>(len - seq.length).fill(3), ...seq];
      });
      const mask = ids.map((row, i) =>
        row.map((_, j) => (j >= len - (batch[i]!.prompt.length + batch[i]!.answer.length - 1) ? 1 : 0)),
      );
      const x = tf.tensor2d(ids, [batch.length, len], 'int32');
      const logits = model.model.forward(x, { attentionMask: mask, logitsToKeep: keep }); // [rows, keep, V]
      // The answer's log-probs, picked on the device as scoreCandidates picks them (single values).
      const targets = batch.flatMap((r) => [
        ...new Array<number>(keep - r.answer.length).fill(0),
        ...r.answer,
      ]);
      const lp = tf.tidy(() => {
        const rows = tf.reshape(logits, [-1, V]);
        const flat = tf.tensor1d(
          targets.map((tok, k) => k * V + tok),
          'int32',
        );
        return tf.sub(tf.gather(tf.reshape(rows, [-1]), flat), tf.logSumExp(rows, 1));
      });
      const data = await lp.data();
      tf.dispose([x, logits, lp]);
      batch.forEach((r, i) => {
        let s = 0;
        for (let j = keep - r.answer.length; j < keep; j++) s += data[i * keep + j]!;
        out.push(s);
      });
      start = end;
    }
    return out;
  };

  const reference = await perCandidate();
  const eosTerms = await Promise.all(
    prompts.map((prompt) =>
      Promise.all(
        candidates.map(async (c) => {
          const ids = [...model.tokenizer.encode(prompt), ...model.answerIds(c)];
          const x = tf.tensor2d([ids], [1, ids.length], 'int32');
          const logits = model.model.forward(x, { logitsToKeep: 1 });
          const lp = tf.tidy(() => tf.logSoftmax(logits));
          const v = (await lp.data())[eos]!;
          tf.dispose([x, logits, lp]);
          return v;
        }),
      ),
    ),
  );
  const expected = reference.flatMap((row, i) => row.map((s, j) => s + eosTerms[i]![j]!));
  const batched = (await model.scoreCandidates(requests)).flatMap((r) => r.logProbs);
  const rows = await paddedRows();
  const maxDiff = (xs: number[]) => Math.max(...xs.map((x, i) => Math.abs(x - expected[i]!)));
  console.log(
    `  largest |difference| from score() + EOS term: scoreCandidates ${maxDiff(batched).toExponential(1)}, padded rows ${maxDiff(rows).toExponential(1)}`,
  );
  const show = (label: string, t: { ms: number; cpuMs: number }, base?: number) =>
    console.log(
      `  ${label.padEnd(30)} ${t.ms.toFixed(0).padStart(7)} ms (cpu ${t.cpuMs.toFixed(0).padStart(7)} ms)${base ? `  ${(base / t.ms).toFixed(1)}x faster than score() per candidate` : ''}`,
    );
  const single = await time(perCandidate);
  show('score() per candidate', single);
  show('scoreCandidates (KV cache)', await time(() => model.scoreCandidates(requests)), single.ms);
  show('padded rows, no cache', await time(paddedRows), single.ms);
}

if (modes.has('decode')) {
  const maxNewTokens = Number(values.tokens);
  const prompt =
    'Call me Ishmael. Some years ago, never mind how long precisely, having little money in my purse,';
  const runs: [string, Parameters<typeof model.generate>[1]][] = [
    ['greedy', { temperature: 0 }],
    ['sampled (t 0.8, top-k 40)', { temperature: 0.8, topK: 40, seed: 1 }],
    ['greedy, penalty 1.2, no-repeat 3', { temperature: 0, repetitionPenalty: 1.2, noRepeatNgramSize: 3 }],
    [
      'sampled, penalty 1.2, no-repeat 3',
      { temperature: 0.8, topK: 40, seed: 1, repetitionPenalty: 1.2, noRepeatNgramSize: 3 },
    ],
  ];
  console.log(
    `decode: batch 1, up to ${maxNewTokens} new tokens (tokens/s counts the tokens made: a row may end at EOS)`,
  );
  for (const [label, options] of runs) {
    let tokens = 0;
    const t = await time(async () => {
      const [r] = await model.generate([{ prompt }], { ...options, maxNewTokens });
      tokens = r!.tokens;
    });
    console.log(
      `  ${label.padEnd(34)} ${tokens} tokens in ${t.ms.toFixed(0).padStart(5)} ms = ${((tokens / t.ms) * 1000).toFixed(0).padStart(5)} tokens/s (cpu ${t.cpuMs.toFixed(0)} ms)`,
    );
  }
}
engine.dispose();
