import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdapterWeights, OPPU_LORA, type PeftEngine } from '@oppu/core';
import { createEngine, defaultBaseModelDir, shippedTaskAdapterDir, writeTestCheckpoint } from '@oppu/node';
import { HfTokenizer, saveAdapter } from '@oppu/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `oppu ...args` through the CLI's entry point (parsing, exit codes, one-line errors), output captured. */
async function oppu(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  };
  const code = await main(args, io as never);
  return { code, stdout, stderr };
}

interface GenerateJson {
  text: string;
  prompt_tokens: number[];
  tokens: number[];
  finish_reason: string;
  model: string;
  adapter: string | null;
}

/** The JSON object on the last line of stdout. */
function lastJson(run: Run): GenerateJson {
  expect(run.code).toBe(0);
  const lines = run.stdout.trimEnd().split('\n');
  return JSON.parse(lines[lines.length - 1] as string) as GenerateJson;
}

let dir: string;
let modelDir: string;
let adapterDir: string;
let engine: PeftEngine;
let adapter: AdapterWeights;
let bosId: number | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oppu-generate-'));
  modelDir = join(dir, 'model');
  await writeTestCheckpoint(modelDir);
  bosId = (await HfTokenizer.load(modelDir)).bosId;
  engine = await createEngine({ baseModelDir: modelDir, onLog: () => {} });
  // A user's LoRA, trained hard enough to change what the model writes.
  const examples = ['the cat sat on the mat', 'a dog ran here', 'the mat sat on a dog'].map((t) => ({
    prompt: 'write:',
    answer: t,
  }));
  const trained = await engine.trainAdapter(examples, {
    peft: OPPU_LORA,
    training: { maxSteps: 12, learningRate: 5e-2, seed: 3 },
  });
  adapter = trained.weights;
  adapterDir = join(dir, 'alice-v1');
  await saveAdapter(adapterDir, adapter);
});
afterAll(async () => {
  engine?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('oppu generate', () => {
  it('greedy (--temperature 0) is deterministic, and --json reports the ids fed (BOS first) and generated', async () => {
    const args = ['generate', '--base', modelDir, '--prompt', 'the cat', '--max-new-tokens', '10'];
    const a = lastJson(await oppu(...args, '--temperature', '0', '--json', '--quiet'));
    const b = lastJson(await oppu(...args, '--temperature', '0', '--json', '--quiet'));
    expect(b).toMatchObject({ text: a.text, prompt_tokens: a.prompt_tokens, tokens: a.tokens });
    expect(bosId).toBeDefined();
    expect(a.prompt_tokens).toEqual([bosId, ...engine.model.tokenize('the cat')]);
    expect(a.tokens).toHaveLength(10);
    expect(a.finish_reason).toBe('length');
    expect(engine.model.detokenize(a.tokens)).toBe(a.text);
    expect(a.adapter).toBeNull();
    // What the library generates for the same prompt, greedily.
    const [lib] = await engine.model.generate([{ prompt: 'the cat' }], { maxNewTokens: 10, temperature: 0 });
    expect(a.tokens).toEqual(lib?.ids);
    // Without --json: the continuation alone; greedy is the default.
    const plain = await oppu(...args, '--quiet');
    expect(plain).toEqual({ code: 0, stdout: `${a.text}\n`, stderr: '' });
  });

  it('--adapter generates with a PEFT adapter folder, as the library does with those weights', async () => {
    const args = [
      'generate',
      '--base',
      modelDir,
      '--prompt',
      'write:',
      '--max-new-tokens',
      '8',
      '--json',
      '-q',
    ];
    const without = lastJson(await oppu(...args));
    const withAdapter = lastJson(await oppu(...args, '--adapter', adapterDir));
    expect(withAdapter.adapter).toBe(adapterDir);
    expect(withAdapter.prompt_tokens).toEqual(without.prompt_tokens);
    expect(withAdapter.tokens).not.toEqual(without.tokens);
    const [lib] = await engine.model.generate([{ prompt: 'write:', adapter }], { maxNewTokens: 8 });
    expect(withAdapter.tokens).toEqual(lib?.ids);
  });

  it('samples at --temperature > 0, repeatably with --seed', async () => {
    const args = [
      'generate',
      '--base',
      modelDir,
      '--prompt',
      'a dog',
      '--max-new-tokens',
      '16',
      '--json',
      '-q',
    ];
    const sample = async (seed: string) =>
      lastJson(await oppu(...args, '--temperature', '3', '--seed', seed)).tokens;
    expect(await sample('1')).toEqual(await sample('1'));
    expect(await sample('1')).not.toEqual(await sample('2'));
  });

  it('refuses bad arguments (exit 2) and failures (exit 1) in one line', async () => {
    const usage = async (args: string[], message: string) => {
      const r = await oppu('generate', '--base', modelDir, ...args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(message);
      expect(r.stderr.split('\n')).toEqual([expect.any(String), '']);
    };
    await usage([], 'missing --prompt');
    await usage(['--prompt', 'x', '--temperature', 'warm'], '--temperature must be a number >= 0');
    await usage(['--prompt', 'x', '--temperature=-1'], '--temperature must be a number >= 0');
    await usage(['--prompt', 'x', '--max-new-tokens', '0'], '--max-new-tokens must be an integer >= 1');
    await usage(['--prompt', 'x', '--seed', '1.5'], '--seed must be an integer >= 0');

    const failure = async (args: string[], message: string) => {
      const r = await oppu('generate', '--prompt', 'x', '-q', ...args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(message);
      expect(r.stderr.split('\n')).toEqual([expect.any(String), '']);
    };
    await failure(['--base', join(dir, 'nothing')], 'config.json is missing');
    await failure(
      ['--base', modelDir, '--adapter', join(dir, 'nothing')],
      'adapter_config.json: cannot read',
    );
    // An adapter trained on another base (the embedded model's shipped LaMP_2M task adapter).
    await failure(
      ['--base', modelDir, '--adapter', shippedTaskAdapterDir(defaultBaseModelDir(), 'LaMP_2M')],
      'was the adapter trained on another base model?',
    );
  });
});
