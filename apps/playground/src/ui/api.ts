/** The playground API as the page sees it (mirrors apps/playground/src/server). */

export interface TaskInfo {
  id: string;
  name: string;
  kind: 'classification' | 'regression' | 'generation';
  labels: string[];
  itemFields: string[];
  questionField: string;
}

export interface Info {
  tasks: TaskInfo[];
  defaultTask: string;
  baseModel: {
    name: string;
    parameters: number;
    architecture: string;
    numLayers: number;
    hiddenSize: number;
  };
  methods: string[];
}

export interface LossPoint {
  step: number;
  total: number;
  loss?: number;
  tokensPerSecond?: number;
  etaSeconds?: number;
  phase: string;
}

export interface Job {
  id: number;
  user: string;
  mode: 'incremental' | 'fresh';
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  queuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  progress?: LossPoint;
  points?: LossPoint[];
  version?: number;
  finalLoss?: number;
  error?: { code: string; message: string };
}

export interface UserSummary {
  id: string;
  task: string;
  createdAt: string;
  demo?: { description: string; examples: string[] };
  items: number;
  versions: number;
  latestVersion?: number;
  training?: Job;
}

export type HistoryItem = { id: string; date?: string } & Record<string, string>;

export interface Answer {
  text: string;
  method: string;
  prompt: string;
  retrieved: HistoryItem[];
  profile?: string;
  adapterVersion?: number;
  /** Label tasks: each label's probability (the answer is the most probable label). */
  probabilities?: Record<string, number>;
}

export interface AdapterVersion {
  version: number;
  createdAt: string;
  parent?: number;
  sha256: string;
  task: string;
  peft: { method: string; r?: number; alpha?: number; targetModules?: string[] };
  training?: { steps?: number; finalLoss?: number; items?: number; seconds?: number };
  parameters?: number;
  bytes?: number;
}

export interface EvaluationRow {
  method: string;
  scores: Record<string, number | string>;
  seconds?: number;
}

export interface EvaluationRun {
  id: number;
  request: {
    task: string;
    methods: string[];
    users: number;
    items: number;
    queries: number;
    steps: number;
    taskSteps: number;
    seed: number;
    learningRate: number;
  };
  state: 'running' | 'done' | 'failed' | 'cancelled';
  startedAt: string;
  finishedAt?: string;
  phase?: string;
  done: number;
  total: number;
  rows: EvaluationRow[];
  error?: { code: string; message: string };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Calls the API; a non-2xx answer becomes an ApiError carrying the server's message. */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; raw?: Blob } = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  let body: BodyInit | undefined;
  if (init.raw) {
    headers['content-type'] = 'application/zip';
    body = init.raw;
  } else if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  const res = await fetch(path, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const error = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(
      res.status,
      error?.code ?? 'http_error',
      error?.message ?? `${res.status} ${res.statusText}`,
    );
  }
  return data as T;
}

export const userPath = (id: string) => `/api/users/${encodeURIComponent(id)}`;
