import {
  type BaseModel,
  type CandidateScores,
  type GenerateRequest,
  type GenerateResult,
  OppuError,
  type SamplingOptions,
  type ScoreRequest,
} from '@oppu/core';

type Waiting = {
  readonly order: number;
  /** The per-request signal (in `sampling` for generation). */
  readonly sampling: SamplingOptions;
  readonly reject: (error: unknown) => void;
} & (
  | {
      readonly kind: 'generate';
      readonly request: GenerateRequest;
      readonly resolve: (result: GenerateResult) => void;
    }
  | {
      readonly kind: 'score';
      readonly request: ScoreRequest;
      readonly resolve: (result: CandidateScores) => void;
    }
);

/**
 * What must be equal for requests to share one model call: scoring requests always share one; generation
 * requests share one per set of sampling options (the signal is per request).
 */
function groupKey(w: Waiting): string {
  if (w.kind === 'score') return 'score';
  const { signal: _one, ...shared } = w.sampling;
  return JSON.stringify(Object.entries(shared).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Collects the requests of a known number of concurrent calls (the inputs of one `batch`) and sends them to the
 * base model together: one `model.generate([...])` per distinct set of sampling options, and one
 * `model.scoreCandidates([...])` for the label-task questions, each request with its own user's adapter, so the
 * engine runs them in one forward pass with the multi-adapter kernel. A call that ends without submitting (it
 * failed while its prompt was prepared) is `settle`d, so the others never wait for it.
 *
 * Cancelling: a request whose signal aborts is rejected at once with the signal's reason; the shared call is
 * aborted only when every request in it has been.
 */
export class GenerateBatch {
  private open: number;
  private waiting: Waiting[] = [];
  /** `generate` calls made so far (for tests and metrics). */
  calls = 0;

  constructor(
    private readonly model: BaseModel,
    slots: number,
  ) {
    this.open = slots;
  }

  /**
   * Hands one call's request over; resolves with its result once the whole batch has run. Requests go to the
   * model in `order` (the input's index), whatever order their prompts were ready in.
   */
  submit(request: GenerateRequest, sampling: SamplingOptions, order = 0): Promise<GenerateResult> {
    const promise = new Promise<GenerateResult>((resolve, reject) => {
      this.waiting.push({ kind: 'generate', order, request, sampling, resolve, reject });
    });
    this.open--;
    this.maybeFlush();
    return promise;
  }

  /** As `submit`, for a request whose candidates are to be scored (a label-task question). */
  submitScore(request: ScoreRequest, signal: AbortSignal | undefined, order = 0): Promise<CandidateScores> {
    const promise = new Promise<CandidateScores>((resolve, reject) => {
      this.waiting.push({
        kind: 'score',
        order,
        request,
        sampling: signal ? { signal } : {},
        resolve,
        reject,
      });
    });
    this.open--;
    this.maybeFlush();
    return promise;
  }

  /** A call finished without submitting a request. */
  withdraw(): void {
    this.open--;
    this.maybeFlush();
  }

  private maybeFlush(): void {
    if (this.open > 0 || this.waiting.length === 0) return;
    const groups = new Map<string, Waiting[]>();
    for (const w of [...this.waiting].sort((a, b) => a.order - b.order)) {
      const key = groupKey(w);
      const group = groups.get(key);
      if (group) group.push(w);
      else groups.set(key, [w]);
    }
    this.waiting = [];
    for (const group of groups.values()) void this.run(group);
  }

  private async run(group: Waiting[]): Promise<void> {
    const controller = new AbortController();
    let live = group.length;
    const settled = new Array<boolean>(group.length).fill(false);
    const cleanups: (() => void)[] = [];
    group.forEach((w, i) => {
      const signal = w.sampling.signal;
      if (!signal) return;
      const onAbort = () => {
        if (settled[i]) return;
        settled[i] = true;
        w.reject(signal.reason);
        if (--live === 0) controller.abort(signal.reason);
      };
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => signal.removeEventListener('abort', onAbort));
      }
    });
    const first = group[0]!;
    const { signal: _one, ...shared } = first.sampling;
    try {
      this.calls++;
      const results: readonly (GenerateResult | CandidateScores)[] =
        first.kind === 'score'
          ? await this.model.scoreCandidates(
              group.map((w) => w.request as ScoreRequest),
              { signal: controller.signal },
            )
          : await this.model.generate(
              group.map((w) => w.request as GenerateRequest),
              { ...shared, signal: controller.signal },
            );
      group.forEach((w, i) => {
        if (settled[i]) return;
        settled[i] = true;
        const result = results[i];
        if (result) (w.resolve as (r: GenerateResult | CandidateScores) => void)(result);
        else
          w.reject(
            new OppuError(
              'engine_result_count',
              `the base model returned ${results.length} results for ${group.length} requests`,
            ),
          );
      });
    } catch (error) {
      group.forEach((w, i) => {
        if (!settled[i]) {
          settled[i] = true;
          w.reject(error);
        }
      });
    } finally {
      for (const cleanup of cleanups) cleanup();
    }
  }
}
