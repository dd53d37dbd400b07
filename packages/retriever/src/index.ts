export { Bm25, type Bm25Options, OPPU_BM25, rankDescending } from './bm25.js';
export { HISTORY_SCHEMA_VERSION, HistoryStore, type ListOptions } from './history-store.js';
export { exportToHnswlib, importFromHnswlib } from './hnswlib-interop.js';
export { type ItemFormatter, itemText, recencyFactor, reciprocalRankFusion } from './item-text.js';
export { OppuRetriever, type OppuRetrieverInput } from './oppu-retriever.js';
export {
  ExtractiveProfileSummarizer,
  type ExtractiveSummarizerOptions,
  profileTokens,
} from './profiles/extractive-summarizer.js';
export {
  type ChatModelLike,
  LmProfileSummarizer,
  type LmSummarizerOptions,
  OPPU_PROFILE_SAMPLING,
} from './profiles/lm-summarizer.js';
export {
  LAMP_TASK_NAMES,
  OPPU_PROFILE_PROMPTS,
  oppuTaskName,
  type ProfilePrompt,
} from './profiles/oppu-profile-prompts.js';
export { PopulationStats } from './profiles/population.js';
export { SifEmbeddings, type SifEmbeddingsParams } from './sif-embeddings.js';
export {
  oppuTokenizer,
  type Tokenizer,
  type TokenizerName,
  tokenizerFor,
  type WordTokenizerOptions,
  whitespaceTokenizer,
  wordTokenizer,
} from './tokenizers.js';
export { type MemoryWarning, type RetrievalMode, UserMemory, type UserMemoryOptions } from './user-memory.js';
export {
  DEFAULT_BRUTE_FORCE_BELOW,
  type VectorFilter,
  type VectorHit,
  VectorIndex,
  type VectorIndexOptions,
} from './vector-index.js';
export {
  DEFAULT_WORD_VECTORS_URL,
  defaultWordVectors,
  embeddingTokens,
  WordVectors,
  type WordVectorsHeader,
} from './word-vectors.js';
