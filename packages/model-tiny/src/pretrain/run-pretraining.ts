import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { type ProgressListener, writeDirAtomicSync, writeFileAtomicSync } from '@oppu/core';
import * as trainer from '@oppu/trainer';
import { KneserNeyTrigram } from '../baseline/kneser-ney.js';
import { assignHfTensors, hfModelFiles, hfSafetensors } from '../model/hf-export.js';
import { type LlamaConfig, parameterCount } from '../model/llama-config.js';
import { evaluate } from '../train/evaluate.js';
import { renderModelCard } from './model-card.js';
import { prepareData } from './prepare-data.js';
import { pretrainLoop } from './pretrain.js';
import type { PretrainRecipe } from './recipe.js';
import type { TrainingReport } from './training-report.js';

export interface RunPretrainingOptions {
  readonly recipe: PretrainRecipe;
  /** The HF folder to (re)write: config.json, model.safetensors, tokenizer.json, ... */
  readonly modelDir: string;
  /** Where MODEL_CARD.md goes (`null`: not written). */
  readonly modelCardPath: string | null;
  readonly cacheDir: string;
  /** The command line to record in the card. */
  readonly command: string;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
  /** Cap on test tokens scored (default: the whole test split). */
  readonly testTokenLimit?: number;
}

export const SAMPLE_PROMPTS = [
  'The President said that',
  'Call me Ishmael. Some years ago',
  'The jury further said in term-end presentments that',
  'whale: any of the larger cetacean mammals',
  'In the year 1850, the Congress',
];

/**
 * One reproducible pretraining run, end to end: corpus and tokenizer (cached), the fastest backend the trainer
 * offers, the training loop (resumable), held-out evaluation against the Kneser-Ney trigram on the same tokens,
 * samples, and the HF folder written atomically with its model card. Returns undefined when cancelled.
 */
export async function runPretraining(options: RunPretrainingOptions): Promise<TrainingReport | undefined> {
  const log = options.log ?? (() => {});
  const { recipe } = options;
  const commit = gitDescribe();
  const started = Date.now();

  await trainer.ensureGradients();
  const backend = await trainer.initBackend({ backend: 'wasm', log });
  const kernels = await installFastKernels(log);

  const data = prepareData({
    vocabSize: recipe.vocabSize,
    contextLength: recipe.model.maxPositionEmbeddings,
    cacheDir: options.cacheDir,
    log,
  });
  const tok = new Tokenizer(data.tokenizer, data.tokenizerConfig);
  const id = (t: string) => tok.token_to_id(t)!;
  const config: LlamaConfig = {
    ...recipe.model,
    vocabSize: data.vocabSize,
    bosTokenId: id('<s>'),
    eosTokenId: id('</s>'),
    padTokenId: id('<pad>'),
  };
  log(
    `pretrain: ${parameterCount(config).toLocaleString('en-US')} parameters; train ${data.splits.train.length} tokens`,
  );

  const result = await pretrainLoop({
    recipe,
    config,
    train: data.splits.train,
    validation: data.splits.validation,
    checkpointDir: join(options.cacheDir, 'checkpoint'),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    log,
  });
  const { model } = result;
  try {
    if (!result.finished) return undefined;

    // Ship fp16: round the weights once and evaluate exactly what is shipped.
    const safetensors = hfSafetensors(model, 'float16');
    const rounded = trainer.readSafetensors(safetensors, { file: 'model.safetensors' }).tensors;
    assignHfTensors(
      model,
      new Map([...rounded].map(([n, t]) => [n, { shape: [...t.shape], data: t.data as Float32Array }])),
    );

    log('pretrain: scoring the test split (model and trigram)');
    const test = options.testTokenLimit
      ? data.splits.test.subarray(0, options.testTokenLimit + 1)
      : data.splits.test;
    const evalStart = Date.now();
    const modelEval = evaluate(model, test, { seqLen: recipe.model.maxPositionEmbeddings, batch: 2 });
    const modelEval256 = evaluate(model, test, { seqLen: recipe.seqLen, batch: recipe.batch });
    const evalSeconds = (Date.now() - evalStart) / 1000;
    const trigram = new KneserNeyTrigram(data.splits.train, data.vocabSize);
    const trigramCe = trigram.crossEntropy(test);
    const valEval = evaluate(model, data.splits.validation, { seqLen: recipe.seqLen, batch: recipe.batch });
    const trigramVal = trigram.crossEntropy(data.splits.validation);

    // The card's samples: the trainer's decoding (KV cache), greedy and top-k sampled, ending at EOS.
    const complete = async (ids: number[], sampling: trainer.SamplingParams & { seed?: number }) => {
      const steps = trainer.generateTokens(model, [ids], {
        maxNewTokens: 40,
        stopIds: [config.eosTokenId],
        ...sampling,
      });
      for (;;) {
        const next = await steps.next();
        if (next.done) return next.value[0]?.ids ?? [];
      }
    };
    const samples: { prompt: string; greedy: string; sampled: string }[] = [];
    for (const [i, prompt] of SAMPLE_PROMPTS.entries()) {
      const ids = [config.bosTokenId, ...tok.encode(prompt, { add_special_tokens: false }).ids];
      const greedy = await complete(ids, { temperature: 0 });
      const sampled = await complete(ids, { temperature: 0.8, topK: 40, seed: recipe.seed + i });
      const text = (x: number[]) => (x.length === 0 ? '' : tok.decode(x, { skip_special_tokens: true }));
      samples.push({ prompt, greedy: text(greedy), sampled: text(sampled) });
    }

    const report: TrainingReport = {
      recipe,
      config,
      parameters: parameterCount(config),
      fileBytes: safetensors.byteLength,
      corpus: { packages: data.packages, stats: data.stats },
      steps: result.steps,
      tokensSeen: result.tokensSeen,
      trainSeconds: result.trainSeconds,
      wallSeconds: (Date.now() - started) / 1000,
      evalSeconds,
      backend: `${backend.name} (${backend.threads} threads), matMul ${kernels}`,
      test: {
        tokens: modelEval.tokens,
        modelCrossEntropy: modelEval.crossEntropy,
        modelCrossEntropy256: modelEval256.crossEntropy,
        trigramCrossEntropy: trigramCe,
      },
      validation: {
        tokens: valEval.tokens,
        modelCrossEntropy: valEval.crossEntropy,
        trigramCrossEntropy: trigramVal,
      },
      trigramDiscounts: trigram.discounts,
      history: result.history,
      samples,
      commit,
      command: options.command,
      finishedAt: new Date().toISOString(),
    };

    writeDirAtomicSync(options.modelDir, {
      ...hfModelFiles(config, safetensors, data.tokenizer, data.tokenizerConfig),
      'training_report.json': `${JSON.stringify(report, null, 2)}\n`,
    });
    if (options.modelCardPath) writeFileAtomicSync(options.modelCardPath, renderModelCard(report));
    return report;
  } finally {
    model.dispose();
  }
}

type InstallKernels = (o: { native?: boolean }) => { matMul?: string; native?: string };

/**
 * The trainer's fast kernels (`@oppu/trainer/kernels`: native SGEMM BatchMatMul on the wasm backend, about 20x
 * the stock kernels for training). Without them the stock kernels run, with a warning.
 */
async function installFastKernels(log: (line: string) => void): Promise<string> {
  let install: InstallKernels | undefined;
  try {
    install = ((await import('@oppu/trainer/kernels')) as { installKernels?: InstallKernels }).installKernels;
  } catch (error) {
    log(`pretrain: could not load @oppu/trainer/kernels (${(error as Error).message})`);
  }
  if (typeof install !== 'function') {
    log('pretrain: WARNING no fast kernels from @oppu/trainer: stock wasm kernels (about 20x slower)');
    return 'stock';
  }
  const info = install({ native: true });
  log(`pretrain: fast kernels ${JSON.stringify(info)}`);
  return `${info.matMul ?? 'unknown'}${info.native ? ` (${info.native})` : ''}`;
}

/** `<sha>` of HEAD, with `+dirty` when this package has uncommitted changes. */
function gitDescribe(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', '.'], { encoding: 'utf8' }).trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return 'unknown (not a git checkout)';
  }
}
