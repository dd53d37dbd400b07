import type { BaseModel, GenerateRequest, SamplingOptions, ScoreRequest } from '@oppu/core';
import { describe, expect, it } from 'vitest';
import { GenerateBatch } from './generate-batch.js';

function recordingModel() {
  const generated: { requests: GenerateRequest[]; options: SamplingOptions | undefined }[] = [];
  const scored: ScoreRequest[][] = [];
  const model = {
    generate: async (requests: readonly GenerateRequest[], options?: SamplingOptions) => {
      generated.push({ requests: [...requests], options });
      return requests.map((r) => ({ text: `re: ${r.prompt}`, tokens: 2, finishReason: 'stop' as const }));
    },
    scoreCandidates: async (requests: readonly ScoreRequest[]) => {
      scored.push([...requests]);
      return requests.map((r) => ({
        logProbs: r.candidates.map(() => -1),
        tokens: r.candidates.map(() => 1),
      }));
    },
  } as unknown as BaseModel;
  return { model, generated, scored };
}

describe('GenerateBatch', () => {
  it('never merges requests whose repetition options differ', async () => {
    const { model, generated } = recordingModel();
    const batch = new GenerateBatch(model, 2);
    const plain = batch.submit({ prompt: 'a' }, { maxNewTokens: 4 }, 0);
    const guarded = batch.submit(
      { prompt: 'b' },
      { maxNewTokens: 4, repetitionPenalty: 1.2, noRepeatNgramSize: 3 },
      1,
    );
    expect((await plain).text).toBe('re: a');
    expect((await guarded).text).toBe('re: b');
    expect(generated.map((g) => [g.requests.map((r) => r.prompt), g.options?.repetitionPenalty])).toEqual([
      [['a'], undefined],
      [['b'], 1.2],
    ]);
  });

  it('sends scoring requests in one scoreCandidates call beside the generation call', async () => {
    const { model, generated, scored } = recordingModel();
    const batch = new GenerateBatch(model, 3);
    const s1 = batch.submitScore({ prompt: 'x', candidates: ['1', '2'] }, undefined, 0);
    const g = batch.submit({ prompt: 'y' }, { maxNewTokens: 4 }, 1);
    const s2 = batch.submitScore({ prompt: 'z', candidates: ['1', '2'] }, undefined, 2);
    expect(await s1).toEqual({ logProbs: [-1, -1], tokens: [1, 1] });
    expect((await g).text).toBe('re: y');
    await s2;
    expect(scored.map((c) => c.map((r) => r.prompt))).toEqual([['x', 'z']]);
    expect(generated).toHaveLength(1);
    expect(batch.calls).toBe(2);
  });
});
