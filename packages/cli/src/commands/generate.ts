import { OppuError, type SamplingOptions } from '@oppu/core';
import { createEngine, loadAdapter } from '@oppu/node';
import { type CliCommand, CliUsageError, intOption, stringOption } from '../command.js';

const DEFAULT_MAX_NEW_TOKENS = 128;

/** `--temperature`: a finite number >= 0 (0 is greedy decoding). */
function temperatureOption(values: Readonly<Record<string, unknown>>): number {
  const raw = stringOption(values, 'temperature');
  if (raw === undefined) return 0;
  const t = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(t) || t < 0)
    throw new CliUsageError(`--temperature must be a number >= 0 (0 is greedy), got "${raw}"`);
  return t;
}

const generate: CliCommand = {
  name: 'generate',
  summary: 'continue a prompt with the base model (and a PEFT adapter); --json adds the token ids',
  options: {
    base: {
      type: 'string',
      placeholder: 'DIR',
      description: 'base model folder (HF layout); default: the embedded tiny model',
    },
    prompt: { type: 'string', placeholder: 'TEXT', description: 'the text to continue' },
    adapter: {
      type: 'string',
      placeholder: 'DIR',
      description: 'a PEFT adapter folder (adapter_config.json + adapter_model.safetensors) to generate with',
    },
    'max-new-tokens': {
      type: 'string',
      placeholder: 'N',
      description: `most tokens to generate (default ${DEFAULT_MAX_NEW_TOKENS}); fewer when the model ends its text`,
    },
    temperature: {
      type: 'string',
      placeholder: 'T',
      description: 'sampling temperature (default 0: greedy, the same output every run)',
    },
    seed: {
      type: 'string',
      placeholder: 'S',
      description: 'seed of the sampler, for repeatable sampling at temperature > 0',
    },
    json: {
      type: 'boolean',
      description:
        'print one JSON line instead: text, prompt_tokens (the ids fed, BOS included), tokens (the generated ids), finish_reason, model, adapter',
    },
  },
  required: ['prompt'],
  examples: [
    'oppu generate --prompt "Once upon a time"',
    'oppu generate --base ./SmolLM2-135M --prompt "The capital of France is" --max-new-tokens 8 --json',
    'oppu generate --prompt "Dear team," --adapter ./.oppu/adapters/alice/v0001 --temperature 0.8 --seed 1',
  ],
  async run(values, context) {
    const prompt = stringOption(values, 'prompt')!;
    const maxNewTokens =
      values['max-new-tokens'] === undefined
        ? DEFAULT_MAX_NEW_TOKENS
        : intOption(values, 'max-new-tokens', 1);
    const temperature = temperatureOption(values);
    const seed = values.seed === undefined ? undefined : intOption(values, 'seed', 0);

    // The adapter first: a wrong folder is told before the model loads.
    const adapterDir = stringOption(values, 'adapter');
    const adapter = adapterDir ? await loadAdapter(context.path(adapterDir)) : undefined;
    const base = stringOption(values, 'base');
    const engine = await createEngine({
      ...(base ? { baseModelDir: context.path(base) } : {}),
      onLog: (line) => context.note(line),
    });
    try {
      const sampling: SamplingOptions = {
        maxNewTokens,
        temperature,
        ...(seed !== undefined ? { seed } : {}),
        signal: context.signal,
      };
      const started = performance.now();
      const [result] = await engine.model.generate([{ prompt, ...(adapter ? { adapter } : {}) }], sampling);
      const seconds = (performance.now() - started) / 1000;
      context.signal.throwIfAborted();
      if (!result) throw new OppuError('engine_result_count', 'the base model returned no result');
      if (values.json !== true) {
        context.out(result.text);
        return;
      }
      if (!result.promptIds || !result.ids)
        throw new OppuError(
          'no_token_ids',
          `--json: the base model ${engine.model.info.name} does not report the token ids it fed and generated`,
        );
      context.out(
        JSON.stringify({
          text: result.text,
          prompt_tokens: result.promptIds,
          tokens: result.ids,
          finish_reason: result.finishReason,
          model: engine.model.info.name,
          adapter: adapterDir ? context.path(adapterDir) : null,
          temperature,
          seconds: Number(seconds.toFixed(3)),
        }),
      );
    } finally {
      engine.dispose();
    }
  },
};
export default generate;
