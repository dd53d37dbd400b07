import type { CorpusPackage } from '../data/corpus.js';
import type { CorpusSource, Split } from '../data/document.js';
import type { LlamaConfig } from '../model/llama-config.js';
import type { HistoryPoint } from './checkpoint.js';
import type { SourceStats } from './prepare-data.js';
import type { PretrainRecipe } from './recipe.js';

/** Everything a pretraining run measured; saved as model/training_report.json and rendered as the model card. */
export interface TrainingReport {
  readonly recipe: PretrainRecipe;
  readonly config: LlamaConfig;
  readonly parameters: number;
  readonly fileBytes: number;
  readonly corpus: {
    readonly packages: readonly Omit<CorpusPackage, 'dir'>[];
    readonly stats: Record<Split, Record<CorpusSource, SourceStats>>;
  };
  readonly steps: number;
  readonly tokensSeen: number;
  readonly trainSeconds: number;
  readonly wallSeconds: number;
  readonly evalSeconds: number;
  readonly backend: string;
  /** Cross-entropies in nats per token; perplexity = exp. */
  readonly test: {
    readonly tokens: number;
    readonly modelCrossEntropy: number;
    readonly modelCrossEntropy256: number;
    readonly trigramCrossEntropy: number;
  };
  readonly validation: {
    readonly tokens: number;
    readonly modelCrossEntropy: number;
    readonly trigramCrossEntropy: number;
  };
  readonly trigramDiscounts: { readonly d1: number; readonly d2: number; readonly d3: number };
  readonly history: readonly HistoryPoint[];
  readonly samples: readonly { prompt: string; greedy: string; sampled: string }[];
  readonly commit: string;
  readonly command: string;
  readonly finishedAt: string;
}
