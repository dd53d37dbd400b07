import type { BaseModel, BaseModelInfo } from '../contracts/base-model.js';

/** `BaseModelInfo` of a stand-in model, with `overrides` on top. */
export function fakeModelInfo(overrides: Partial<BaseModelInfo> = {}): BaseModelInfo {
  return {
    name: 'fake',
    hash: 'h',
    architecture: 'fake',
    parameters: 1,
    contextLength: 4096,
    vocabSize: 10,
    hiddenSize: 1,
    numLayers: 1,
    ...overrides,
  };
}

/**
 * What a stand-in `BaseModel` needs besides the behaviour a test is about: its info, one token per word, an
 * empty detokenization and a zero `score`. Spread it and add `generate` and `scoreCandidates`.
 */
export function fakeModelBasics(
  info: Partial<BaseModelInfo> = {},
): Pick<BaseModel, 'info' | 'tokenize' | 'detokenize' | 'score'> {
  return {
    info: fakeModelInfo(info),
    tokenize: (text) => text.split(/\s+/).map(() => 1),
    detokenize: () => '',
    score: async () => 0,
  };
}
