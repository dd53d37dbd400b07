/** Progress of long work (training, indexing, evaluation); every long operation accepts `onProgress` and `signal`. */
export interface ProgressEvent {
  readonly phase: string;
  readonly done: number;
  readonly total: number;
  readonly loss?: number;
  readonly tokensPerSecond?: number;
  readonly etaSeconds?: number;
  readonly message?: string;
}

export type ProgressListener = (event: ProgressEvent) => void;

export interface LongWorkOptions {
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}
