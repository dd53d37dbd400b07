import type {
  BaseModel,
  BaseModelInfo,
  CandidateScores,
  GenerateRequest,
  GenerateResult,
  SamplingOptions,
  ScoreRequest,
} from '../contracts/base-model.js';
import type {
  AdapterTrainingResult,
  PeftEngine,
  TrainAdapterOptions,
  TrainingExample,
} from '../contracts/engine.js';
import { OppuError } from '../contracts/errors.js';
import { OPPU_TRAINING } from '../contracts/peft.js';
import type { AdapterWeights } from '../contracts/tensors.js';
import { fakeModelInfo } from './fake-model.js';

/** `peft_type` of the fake engine's adapters. */
export const FAKE_PEFT_TYPE = 'OPPU_FAKE';

export interface FakePeftEngineOptions {
  /** Info of the fake base model (name `fake`, hash `h` by default). */
  readonly info?: Partial<BaseModelInfo>;
  /** What the base model generates for any prompt (default `base answer`). */
  readonly baseText?: string;
}

/** The answers an adapter learned, most frequent first (ties: the one seen first). */
export function fakeAdapterAnswers(weights: AdapterWeights): { answer: string; count: number }[] {
  if (weights.config.peft_type !== FAKE_PEFT_TYPE)
    throw new OppuError(
      'invalid_adapter_config',
      `fake engine: adapter_config peft_type ${JSON.stringify(weights.config.peft_type)} is not ${FAKE_PEFT_TYPE} (an adapter of another engine)`,
    );
  const answers = weights.config.answers as readonly string[];
  const counts = weights.tensors.get('answer_counts')?.data as Float32Array;
  return answers
    .map((answer, i) => ({ answer, count: counts[i] ?? 0, i }))
    .sort((a, b) => b.count - a.count || a.i - b.i)
    .map(({ answer, count }) => ({ answer, count }));
}

function fakeAdapter(counts: ReadonlyMap<string, number>, method: string, base: string): AdapterWeights {
  const answers = [...counts.keys()];
  return {
    config: { peft_type: FAKE_PEFT_TYPE, method, base_model_name_or_path: base, answers },
    tensors: new Map([
      [
        'answer_counts',
        { dtype: 'float32', shape: [answers.length], data: Float32Array.from(counts.values()) },
      ],
    ]),
  };
}

const words = (text: string) => text.split(/\s+/).filter(Boolean);

/**
 * A `BaseModel` with no weights: one token per word, the base generates `baseText` and finds every candidate
 * equally likely; with an adapter of `FakePeftEngine` it generates the adapter's most frequent training answer
 * and scores a candidate by how often the adapter saw it as an answer (add-one smoothed).
 */
class FakeBaseModel implements BaseModel {
  readonly info: BaseModelInfo;
  private readonly vocab = new Map<string, number>();
  private readonly merged: ReadonlyMap<string, number>;

  constructor(
    info: BaseModelInfo,
    private readonly baseText: string,
    merged: ReadonlyMap<string, number>,
    private readonly alive: () => void,
  ) {
    this.info = info;
    this.merged = merged;
  }

  tokenize(text: string): number[] {
    return words(text).map((w) => {
      let id = this.vocab.get(w);
      if (id === undefined) {
        id = this.vocab.size;
        this.vocab.set(w, id);
      }
      return id;
    });
  }

  detokenize(ids: readonly number[]): string {
    const byId = [...this.vocab.keys()];
    return ids.map((i) => byId[i] ?? '').join(' ');
  }

  /** Answer counts the request sees: the merged (stage-1) adapters' and the user's. */
  private counts(adapter: AdapterWeights | undefined): Map<string, number> {
    const counts = new Map(this.merged);
    if (adapter)
      for (const { answer, count } of fakeAdapterAnswers(adapter))
        counts.set(answer, (counts.get(answer) ?? 0) + count);
    return counts;
  }

  async generate(
    requests: readonly GenerateRequest[],
    options: SamplingOptions = {},
  ): Promise<GenerateResult[]> {
    this.alive();
    return requests.map((r) => {
      if (options.signal?.aborted) return { text: '', tokens: 0, finishReason: 'abort' as const };
      const top = [...this.counts(r.adapter)].sort((a, b) => b[1] - a[1])[0];
      const all = words(top ? top[0] : this.baseText);
      const max = options.maxNewTokens ?? Number.POSITIVE_INFINITY;
      const kept = all.slice(0, max);
      return {
        text: kept.join(' '),
        tokens: kept.length,
        finishReason: kept.length < all.length ? ('length' as const) : ('stop' as const),
      };
    });
  }

  async score(request: GenerateRequest & { readonly completion: string }): Promise<number> {
    return (await this.scoreCandidates([{ ...request, candidates: [request.completion] }]))[0]!.logProbs[0]!;
  }

  async scoreCandidates(requests: readonly ScoreRequest[]): Promise<CandidateScores[]> {
    this.alive();
    return requests.map((r) => {
      if (r.candidates.length === 0)
        throw new OppuError('invalid_argument', 'scoreCandidates: a request has no candidates');
      const counts = this.counts(r.adapter);
      const total = r.candidates.reduce((n, c) => n + (counts.get(c) ?? 0), 0);
      return {
        logProbs: r.candidates.map((c) =>
          Math.log(((counts.get(c) ?? 0) + 1) / (total + r.candidates.length)),
        ),
        tokens: r.candidates.map((c) => Math.max(1, words(c).length)),
      };
    });
  }
}

/**
 * A `PeftEngine` that needs no tfjs and "trains" deterministically, for tests of code built on oppu: an adapter
 * remembers how often each answer appeared in its training examples (continuing `init`'s counts), so after
 * training a user's label answers follow that user's history and generation returns their most frequent answer.
 * Steps, losses and progress events follow the training config (`maxSteps`, or epochs x batches); `signal` stops
 * it between steps with `cancelled: true`. `trainAdapters` trains each user as `trainAdapter` would.
 */
export class FakePeftEngine implements PeftEngine {
  readonly model: BaseModel;
  /** Every `trainAdapter` call's examples, in order (what a test asserts a user's adapter saw). */
  readonly trainedOn: (readonly TrainingExample[])[] = [];
  private disposed = false;
  private readonly options: FakePeftEngineOptions;
  private readonly merged: ReadonlyMap<string, number>;

  constructor(options: FakePeftEngineOptions = {}, merged: ReadonlyMap<string, number> = new Map()) {
    this.options = options;
    this.merged = merged;
    this.model = new FakeBaseModel(
      fakeModelInfo(options.info),
      options.baseText ?? 'base answer',
      merged,
      () => this.alive(),
    );
  }

  private alive(): void {
    if (this.disposed) throw new OppuError('disposed', 'FakePeftEngine: used after dispose()');
  }

  async trainAdapter(
    examples: readonly TrainingExample[],
    options: TrainAdapterOptions,
  ): Promise<AdapterTrainingResult> {
    this.alive();
    if (examples.length === 0) throw new OppuError('no_examples', 'trainAdapter: no training examples');
    this.trainedOn.push([...examples]);
    const config = { ...OPPU_TRAINING, ...options.training };
    const batches = Math.ceil(examples.length / Math.max(1, config.batchSize));
    const steps = config.maxSteps ?? batches * config.epochs;
    const counts = new Map<string, number>();
    if (options.init)
      for (const { answer, count } of fakeAdapterAnswers(options.init)) counts.set(answer, count);
    const losses: number[] = [];
    let done = 0;
    let cancelled = false;
    for (let step = 0; step < steps; step++) {
      if (options.signal?.aborted) {
        cancelled = true;
        break;
      }
      // Step s sees batch s (cycling through the examples); each example's answer counts once per step it is in.
      const start = (step % batches) * config.batchSize;
      for (const ex of examples.slice(start, start + config.batchSize))
        counts.set(ex.answer, (counts.get(ex.answer) ?? 0) + 1);
      const loss = 1 / (1 + step);
      losses.push(loss);
      done = step + 1;
      options.onProgress?.({ phase: 'train', done, total: steps, loss });
      await Promise.resolve();
    }
    return {
      weights: fakeAdapter(counts, options.peft.method, this.model.info.name),
      steps: done,
      tokens: examples.reduce((n, ex) => n + words(ex.prompt).length + words(ex.answer).length, 0),
      finalLoss: losses[losses.length - 1] ?? Number.NaN,
      losses,
      seconds: 0,
      cancelled,
    };
  }

  async trainAdapters(
    perUser: readonly (readonly TrainingExample[])[],
    options: TrainAdapterOptions & { readonly inits?: readonly (AdapterWeights | undefined)[] },
  ): Promise<AdapterTrainingResult[]> {
    const results: AdapterTrainingResult[] = [];
    for (const [i, examples] of perUser.entries()) {
      const init = options.inits?.[i];
      results.push(await this.trainAdapter(examples, { ...options, ...(init ? { init } : {}) }));
    }
    return results;
  }

  /** A new engine whose base also answers with this adapter's counts (stage 1); this one is unchanged. */
  async mergeAdapter(weights: AdapterWeights): Promise<PeftEngine> {
    this.alive();
    const merged = new Map(this.merged);
    for (const { answer, count } of fakeAdapterAnswers(weights))
      merged.set(answer, (merged.get(answer) ?? 0) + count);
    const info = this.model.info;
    return new FakePeftEngine(
      { ...this.options, info: { ...info, name: `${info.name}+task`, hash: `${info.hash}+` } },
      merged,
    );
  }

  dispose(): void {
    this.disposed = true;
  }
}
