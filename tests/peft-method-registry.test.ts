/**
 * Developer story: "I add a PEFT method of my own (here a BitFit-style learned bias on o_proj) as one descriptor,
 * register it, and the engine trains, saves, loads and serves it, and `oppu run --peft <name>` accepts it, with no
 * edit anywhere else". The shipped list (`SHIPPED_PEFT_METHODS`) stays as it is: the method is registered at run time.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AdapterWeights,
  type HostTensor,
  OPPU_LORA,
  OppuError,
  type PeftConfig,
  type PeftConfigBase,
  userId,
} from '@oppu/core';
import { FsAdapterStore, writeTestCheckpoint } from '@oppu/node';
import {
  definePeftMethod,
  type LinearAdapter,
  loadAdapter,
  loadPeftMethod,
  type ModuleName,
  moduleShape,
  type PeftMethod,
  type PeftModelDims,
  peftMethods,
  peftModulePath,
  peftTypeOf,
  SHIPPED_PEFT_METHODS,
  saveAdapter,
  TfPeftEngine,
} from '@oppu/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../packages/cli/src/main.js';
import { peftOption } from '../packages/cli/src/peft-option.js';

interface BiasConfig extends PeftConfigBase {
  readonly method: 'bias';
  readonly targetModules: readonly ModuleName[];
}

const tensorName = (layer: number, module: ModuleName) => `${peftModulePath(layer, module)}.bias_delta`;

/** A learned bias [out] added to each targeted projection's output, per layer (starts at zero: the base). */
class BiasModel implements PeftMethod<BiasConfig> {
  readonly method = 'bias' as const;
  private readonly biases = new Map<string, tf.Variable<tf.Rank.R1>>();
  constructor(
    readonly config: BiasConfig,
    readonly dims: PeftModelDims,
  ) {
    for (let layer = 0; layer < dims.numLayers; layer++)
      for (const module of config.targetModules)
        this.biases.set(tensorName(layer, module), tf.variable(tf.zeros([moduleShape(dims, module)[1]])));
  }
  asLinearAdapter(): LinearAdapter {
    return {
      linear: (ctx, x, base) => {
        const b = this.biases.get(tensorName(ctx.layer, ctx.module));
        return b ? tf.add(base(x), b) : base(x);
      },
    };
  }
  trainableVariables(): tf.Variable[] {
    return [...this.biases.values()];
  }
  setTraining(): void {}
  toWeights(): AdapterWeights {
    const tensors = new Map<string, HostTensor>();
    for (const [name, b] of this.biases)
      tensors.set(name, { dtype: 'float32', shape: b.shape, data: b.dataSync() as Float32Array });
    return { config: BIAS.writeConfig(this.config, this.dims), tensors };
  }
  fromWeights(weights: AdapterWeights): void {
    for (const [name, b] of this.biases) {
      const t = weights.tensors.get(name);
      if (!t || t.shape.join() !== b.shape.join())
        throw new OppuError('adapter_mismatch', `bias adapter: tensor "${name}" missing or misshapen`);
      b.assign(tf.tensor1d(t.data as Float32Array));
    }
  }
  numParameters(): number {
    return this.trainableVariables().reduce((n, v) => n + v.size, 0);
  }
  dispose(): void {
    for (const b of this.biases.values()) b.dispose();
    this.biases.clear();
  }
}

const readBiasConfig = (json: Readonly<Record<string, unknown>>, where: string): BiasConfig => {
  const modules = json.target_modules;
  if (!Array.isArray(modules) || modules.length === 0)
    throw new OppuError(
      'invalid_adapter_config',
      `${where}: "target_modules" must be a list of module names`,
    );
  return { method: 'bias', targetModules: modules as ModuleName[] };
};

/** Adapters the method has made (`create`): what the command line trained with it. */
let created = 0;

const BIAS = definePeftMethod<BiasConfig>({
  name: 'bias',
  peftType: 'TOY_BIAS',
  summary: 'a learned bias on the output of o_proj (BitFit-style)',
  defaults: { method: 'bias', targetModules: ['o_proj'] },
  multiAdapterBatching: false,
  validateConfig: (config) => config,
  readConfig: readBiasConfig,
  writeConfig: (config) => ({ peft_type: 'TOY_BIAS', target_modules: [...config.targetModules] }),
  create: (config, dims) => {
    created++;
    return new BiasModel(config, dims);
  },
  load: (weights, dims, where) => {
    const model = new BiasModel(readBiasConfig(weights.config, `${where}: adapter_config.json`), dims);
    model.fromWeights(weights);
    return model;
  },
});

const EXAMPLES = [
  { prompt: 'the cat sat on the', answer: 'mat' },
  { prompt: 'a dog ran to the', answer: 'park' },
];

let dir: string;
let engine: TfPeftEngine;
let unregister: () => void;
beforeAll(async () => {
  process.env.OPPU_QUIET ??= '1';
  dir = await mkdtemp(join(tmpdir(), 'oppu-peft-registry-'));
  await writeTestCheckpoint(join(dir, 'base'));
  engine = await TfPeftEngine.load(join(dir, 'base'), { name: 'test' });
});
afterAll(async () => {
  unregister?.();
  engine?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('a PEFT method registered at run time', () => {
  it('is unknown until registered, and registering it leaves the shipped list alone', () => {
    expect(() => peftOption('bias', peftMethods)).toThrow('--peft must be lora, ia3 or prompt, got "bias"');
    expect(() => peftTypeOf({ config: { peft_type: 'TOY_BIAS' }, tensors: new Map() })).toThrow(
      'peft_type "TOY_BIAS" is not supported (LORA, IA3, PROMPT_TUNING)',
    );
    unregister = peftMethods.register(BIAS);
    expect(SHIPPED_PEFT_METHODS.map((m) => m.name)).toEqual(['lora', 'ia3', 'prompt']);
    expect(peftMethods.list().map((m) => m.name)).toEqual(['lora', 'ia3', 'prompt', 'bias']);
    // A second method under a taken name or peft_type is refused, naming the owner.
    const other = { ...BIAS, name: 'bias2', defaults: { ...BIAS.defaults, method: 'bias2' } } as typeof BIAS;
    expect(() => peftMethods.register(other)).toThrow('peftType TOY_BIAS is already registered by "bias"');
    expect(() => peftMethods.register({ ...BIAS, peftType: 'TOY_BIAS_2' })).toThrow(
      'name "bias" is already registered',
    );
  });

  it('oppu run --peft bias: the option parses to the method defaults', () => {
    expect(peftOption('bias', peftMethods)).toEqual({ method: 'bias', targetModules: ['o_proj'] });
    expect(() => peftOption('loha', peftMethods)).toThrow(
      '--peft must be lora, ia3, prompt or bias, got "loha"',
    );
  });

  it('the engine trains it (the examples become likelier), saves, loads and serves it beside a LoRA', async () => {
    const result = await engine.trainAdapter(EXAMPLES, {
      peft: BIAS.defaults as PeftConfigBase as PeftConfig,
      training: { maxSteps: 8, learningRate: 0.05, batchSize: 2, warmupRatio: 0, seed: 1 },
    });
    expect(result.weights.config.peft_type).toBe('TOY_BIAS');
    expect(result.steps).toBe(8);
    const adapter = result.weights;
    const score = (w?: AdapterWeights) =>
      Promise.all(
        EXAMPLES.map((ex) =>
          engine.model.score({ prompt: ex.prompt, completion: ex.answer, ...(w ? { adapter: w } : {}) }),
        ),
      );
    const [base, tuned] = [await score(), await score(adapter)];
    for (let i = 0; i < EXAMPLES.length; i++) expect(tuned[i]!).toBeGreaterThan(base[i]! + 0.1);

    // Files: saved in the PEFT layout and loaded back through the registry (`peft_type` TOY_BIAS).
    await saveAdapter(join(dir, 'bias-adapter'), adapter);
    expect(JSON.parse(await readFile(join(dir, 'bias-adapter', 'adapter_config.json'), 'utf8'))).toEqual({
      peft_type: 'TOY_BIAS',
      target_modules: ['o_proj'],
    });
    const loaded = await loadAdapter(join(dir, 'bias-adapter'));
    expect(peftTypeOf(loaded)).toBe('bias');
    loadPeftMethod(loaded, engine.model.model.dims).dispose();
    expect(await score(loaded)).toEqual(tuned);

    // Incremental training continues the registered method's adapter.
    const more = await engine.trainAdapter(EXAMPLES, {
      peft: BIAS.defaults as PeftConfigBase as PeftConfig,
      init: loaded,
      training: { maxSteps: 1, seed: 1 },
    });
    expect(more.weights.config.peft_type).toBe('TOY_BIAS');

    // Serving: not batchable with other adapters, so a mixed call runs it in a batch of its own and each row
    // gets what it gets alone.
    const lora = await engine.trainAdapter(EXAMPLES, { peft: OPPU_LORA, training: { maxSteps: 2, seed: 2 } });
    const options = { maxNewTokens: 4, temperature: 0 };
    const alone = [
      (await engine.model.generate([{ prompt: 'the cat', adapter }], options))[0]?.text,
      (await engine.model.generate([{ prompt: 'the cat', adapter: lora.weights }], options))[0]?.text,
    ];
    const mixed = await engine.model.generate(
      [
        { prompt: 'the cat', adapter },
        { prompt: 'the cat', adapter: lora.weights },
      ],
      options,
    );
    expect(mixed.map((r) => r.text)).toEqual(alone);

    // The file-system store keeps, exports and imports its versions: an archive's adapter_config.json is read by
    // the method its peft_type names.
    const store = new FsAdapterStore({ root: join(dir, 'adapters') });
    const meta = {
      task: 'LaMP_3',
      baseModel: { name: engine.model.info.name, hash: engine.model.info.hash },
      peft: BIAS.defaults as PeftConfigBase as PeftConfig,
      createdAt: new Date(0).toISOString(),
    };
    await store.put(userId('ann'), adapter, meta);
    const imported = await store.import(userId('bob'), await store.export(userId('ann')));
    expect(imported.map((m) => [m.userId, m.version, m.peft.method])).toEqual([['bob', 1, 'bias']]);
    expect(await score((await store.get(userId('bob')))!.weights)).toEqual(tuned);
  });

  it('oppu run --peft bias trains every user with it, through the command line itself', async () => {
    const questions = [1, 2].map((u) => ({
      id: `q${u}`,
      input:
        'What is the score of the following review on a scale of 1 to 5? just answer with 1, 2, 3, 4, or 5 without further explanation. review: the cat sat on the mat',
      profile: [
        { id: `u${u}a`, text: 'a dog ran to the park', score: '4' },
        { id: `u${u}b`, text: 'the cat sat on the mat', score: '2' },
      ],
    }));
    await writeFile(join(dir, 'q.json'), JSON.stringify(questions));
    const err: string[] = [];
    const io = {
      stdout: { write: () => true },
      stderr: { write: (s: string) => err.push(s) > 0 },
    } as unknown as Parameters<typeof main>[1];
    const args = ['run', '--task', 'LaMP_3', '--questions', join(dir, 'q.json'), '--method', 'oppu'];
    const rest = ['--base', join(dir, 'base'), '--max-steps', '1', '--quiet'];
    const before = created;
    const code = await main([...args, '--peft', 'bias', ...rest, '--out', join(dir, 'p.json')], io);
    expect(err.join('')).toBe('');
    expect(code).toBe(0);
    expect(created - before).toBe(2); // one adapter per user, of the registered method
    const preds = JSON.parse(await readFile(join(dir, 'p.json'), 'utf8'));
    expect(preds.golds.map((g: { id: string; output: string }) => [g.id, /^[1-5]$/.test(g.output)])).toEqual([
      ['q1', true],
      ['q2', true],
    ]);
    // Without the registration the same command is a usage error (exit 2) naming the choices.
    unregister();
    err.length = 0;
    const refused = await main([...args, '--peft', 'bias', ...rest, '--out', join(dir, 'p2.json')], io);
    expect(refused).toBe(2);
    expect(err.join('')).toContain('--peft must be lora, ia3 or prompt, got "bias"');
  });
});
