import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OppuError } from '@oppu/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeFailure, main } from './main.js';

const tsx = createRequire(import.meta.url).resolve('tsx');
const entry = fileURLToPath(new URL('./main.ts', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `oppu ...args` in a child process, from `cwd`, exactly as a user would from source (`pnpm oppu`: the
 * workspace's packages, @oppu/contracts included, from their sources).
 */
function oppu(cwd: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env, npm_lifecycle_event: '', INIT_CWD: '' };
    execFile(
      process.execPath,
      ['--conditions', 'source', '--import', tsx, entry, ...args],
      { cwd, env },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oppu-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('oppu CLI (child process, real files)', () => {
  it('synth then score: the oracle scores its measured number, the golds score perfectly', async () => {
    const s = await oppu(
      dir,
      'synth',
      '--task',
      'LaMP_3',
      '--users',
      '6',
      '--items',
      '8',
      '--queries',
      '3',
      '--seed',
      '4',
      '--out',
      'd3',
      '--quiet',
    );
    expect(s.stderr).toBe('');
    expect(s.code).toBe(0);
    const summary = JSON.parse(s.stdout);
    expect(summary).toMatchObject({ task: 'LaMP_3', users: 6, questions: 18 });

    const v = await oppu(dir, 'validate', '--questions', 'd3/questions.json');
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({
      valid: true,
      task: 'LaMP_3',
      taskDetected: true,
      questions: 18,
      users: 6,
    });

    const oracle = await oppu(dir, 'score', '--golds', 'd3/outputs.json', '--preds', 'd3/oracle.json');
    expect(oracle.code).toBe(0);
    expect(oracle.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(oracle.stdout)).toEqual(summary.oracle);

    const self = await oppu(dir, 'score', '--golds', 'd3/outputs.json', '--preds', 'd3/outputs.json');
    expect(JSON.parse(self.stdout)).toEqual({ task: 'LaMP_3', count: 18, MAE: 0, RMSE: 0 });
  });

  it('writes the same files for the same seed', async () => {
    await oppu(
      dir,
      'synth',
      '--task',
      'LaMP_7',
      '--users',
      '2',
      '--items',
      '4',
      '--queries',
      '1',
      '--seed',
      '9',
      '--out',
      'a',
      '-q',
    );
    await oppu(
      dir,
      'synth',
      '--task',
      'LaMP_7',
      '--users',
      '2',
      '--items',
      '4',
      '--queries',
      '1',
      '--seed',
      '9',
      '--out',
      'b',
      '-q',
    );
    expect(await readFile(join(dir, 'b/questions.json'), 'utf8')).toBe(
      await readFile(join(dir, 'a/questions.json'), 'utf8'),
    );
    expect(await readFile(join(dir, 'b/outputs.json'), 'utf8')).toBe(
      await readFile(join(dir, 'a/outputs.json'), 'utf8'),
    );
  });

  it('lists prediction ids that do not match the golds', async () => {
    await writeFile(
      join(dir, 'g.json'),
      JSON.stringify({
        task: 'LaMP_4',
        golds: [
          { id: '1', output: 'a' },
          { id: '2', output: 'b' },
        ],
      }),
    );
    await writeFile(
      join(dir, 'p.json'),
      JSON.stringify({
        task: 'LaMP_4',
        golds: [
          { id: '1', output: 'a' },
          { id: '7', output: 'b' },
        ],
      }),
    );
    const r = await oppu(dir, 'score', '--golds', 'g.json', '--preds', 'p.json');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'oppu score: p.json does not match g.json: 1 gold id(s) have no prediction: "2"; 1 prediction id(s) are not in the golds: "7"',
    );
  });

  it('reports validation errors with file, item, id and field', async () => {
    await writeFile(
      join(dir, 'bad.json'),
      JSON.stringify([
        {
          id: '310',
          input: 'Generate a headline for the following article: x',
          profile: [{ id: '1', title: 't' }],
        },
      ]),
    );
    const r = await oppu(dir, 'validate', '--questions', 'bad.json', '--task', 'LaMP_4');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('oppu validate: bad.json: item 0 (id "310"): profile[0] has no "text" field');
  });

  it('explains unknown or missing arguments and prints help per command', async () => {
    const unknown = await oppu(dir, 'synth', '--task', 'LaMP_3', '--user', '3');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/oppu synth: Unknown option '--user'/);
    expect(unknown.stderr).toContain('oppu synth --help');
    expect(unknown.stderr.split('\n')).toEqual([expect.any(String), '']);

    const missing = await oppu(dir, 'score', '--golds', 'g.json');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('oppu score: missing --preds');

    const badInt = await oppu(
      dir,
      'synth',
      '--task',
      'LaMP_3',
      '--users',
      'many',
      '--items',
      '3',
      '--queries',
      '1',
      '--seed',
      '1',
      '--out',
      'x',
    );
    expect(badInt.code).toBe(2);
    expect(badInt.stderr).toContain('--users must be an integer >= 1 (got "many")');

    const run = ['run', '--task', 'LaMP_3', '--questions', 'q.json', '--method', 'oppu', '--out', 'p.json'];
    const badRecipe = await oppu(dir, ...run, '--recipe', 'huge');
    expect(badRecipe.code).toBe(2);
    expect(badRecipe.stderr).toContain('--recipe must be small or paper, got "huge"');
    const badLr = await oppu(dir, ...run, '--lr', '5');
    expect(badLr.code).toBe(2);
    expect(badLr.stderr).toContain('--lr must be a number between 0 and 1, got "5"');

    const help = await oppu(dir, 'score', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--golds <G.json>');

    const overview = await oppu(dir, '--help');
    expect(overview.stdout).toMatch(/score[\s\S]*synth[\s\S]*validate/);
    expect((await oppu(dir, 'frobnicate')).stderr).toContain('unknown command "frobnicate"');
  });

  it('checks --out before the work: a folder for `run --out`, a file for `synth --out` (exit 2, one line)', async () => {
    await mkdir(join(dir, 'runs'), { recursive: true });
    await writeFile(join(dir, 'taken.json'), 'keep me');
    const started = Date.now();
    const run = await oppu(
      dir,
      'run',
      '--task',
      'LaMP_3',
      '--questions',
      'd3/questions.json',
      '--method',
      'base',
      '--out',
      'runs',
    );
    expect(run.stderr).toBe(
      'oppu run: --out runs is a folder; give a file path, e.g. runs/predictions.json (run `oppu run --help` for the options)\n',
    );
    expect(run.code).toBe(2);
    expect(Date.now() - started).toBeLessThan(20_000); // refused before any model was loaded

    const synth = (out: string) =>
      oppu(
        dir,
        'synth',
        '--task',
        'LaMP_7',
        '--users',
        '2',
        '--items',
        '4',
        '--queries',
        '1',
        '--seed',
        '1',
        '--out',
        out,
        '-q',
      );
    const file = await synth('taken.json');
    expect(file.stderr).toBe(
      'oppu synth: --out taken.json is a file; give a folder (this command writes several files into it) (run `oppu synth --help` for the options)\n',
    );
    expect(file.code).toBe(2);
    expect(file.stdout).toBe('');
    expect(await readFile(join(dir, 'taken.json'), 'utf8')).toBe('keep me');

    const under = await synth('taken.json/sub');
    expect(under.code).toBe(2);
    expect(under.stderr).toMatch(
      /^oppu synth: --out taken\.json\/sub: .*taken\.json is a file, not a folder/,
    );

    await mkdir(join(dir, 'clash', 'outputs.json'), { recursive: true });
    const clash = await synth('clash');
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/^oppu synth: --out clash: outputs\.json in it is a folder/);
    expect(await readdir(join(dir, 'clash'))).toEqual(['outputs.json']); // nothing half-written
  });

  it('refuses NaN and infinite LaMP-3 values, naming the file and the id', async () => {
    const outputs = (pairs: [string, string | number][]) =>
      JSON.stringify({ task: 'LaMP_3', golds: pairs.map(([id, output]) => ({ id, output })) });
    await writeFile(
      join(dir, 'g3.json'),
      outputs([
        ['a', '4'],
        ['b', '2'],
      ]),
    );
    await writeFile(
      join(dir, 'p3.json'),
      outputs([
        ['a', '4'],
        ['b', 'NaN'],
      ]),
    );
    const nan = await oppu(dir, 'score', '--golds', 'g3.json', '--preds', 'p3.json');
    expect(nan.code).toBe(1);
    expect(nan.stdout).toBe('');
    expect(nan.stderr).toBe(
      'oppu score: p3.json: id "b": the prediction "NaN" is not a finite number (NaN and infinities cannot be scored)\n',
    );

    await writeFile(
      join(dir, 'g3inf.json'),
      outputs([
        ['a', 'inf'],
        ['b', '2'],
      ]),
    );
    const inf = await oppu(dir, 'score', '--golds', 'g3inf.json', '--preds', 'g3.json');
    expect(inf.code).toBe(1);
    expect(inf.stderr).toBe('oppu score: g3inf.json: id "a": the gold "inf" is not a finite number\n');

    await writeFile(
      join(dir, 'p3big.json'),
      '{"task":"LaMP_3","golds":[{"id":"a","output":4},{"id":"b","output":1e999}]}',
    );
    const big = await oppu(dir, 'score', '--golds', 'g3.json', '--preds', 'p3big.json');
    expect(big.code).toBe(1);
    expect(big.stderr).toMatch(
      /^oppu score: p3big\.json: golds\[1\] \(id "b"\): "output" is a number too large/,
    );
  });

  it('ends every failure in one line on stderr with exit code 1 or 2, never a stack trace', async () => {
    const failures: [string[], number][] = [
      [[], 2],
      [['frobnicate'], 2],
      [['score', '--golds', 'g.json'], 2],
      [['score', '--golds', 'nope.json', '--preds', 'nope.json'], 1],
      [['score', '--golds', '.', '--preds', 'g.json'], 1],
      [['validate', '--questions', 'taken.json'], 1],
      [
        [
          'synth',
          '--task',
          'LaMP_9',
          '--users',
          '1',
          '--items',
          '2',
          '--queries',
          '1',
          '--seed',
          '1',
          '--out',
          'x9',
        ],
        2,
      ],
      [['run', '--task', 'LaMP_3', '--questions', 'nope.json', '--method', 'base', '--out', 'p.json'], 1],
      [
        [
          'run',
          '--task',
          'LaMP_3',
          '--questions',
          'd3/questions.json',
          '--method',
          'best',
          '--out',
          'p.json',
        ],
        2,
      ],
    ];
    for (const [args, code] of failures) {
      const r = await oppu(dir, ...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr, args.join(' ')).toMatch(/^oppu[^\n]*: [^\n]+\n$/);
      expect(r.stderr).not.toMatch(/\bat .*:\d+:\d+/);
    }
  });

  it('describes file-system errors and unexpected ones in one line', () => {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x/y.json'"), {
      code: 'ENOENT',
      syscall: 'open',
      path: '/x/y.json',
    });
    expect(describeFailure(enoent)).toBe('/x/y.json: no such file or folder (open)');
    expect(describeFailure(new OppuError('x', 'first\n  second'))).toBe('first second');
    expect(describeFailure(new RangeError('Invalid string length'))).toBe(
      'RangeError: Invalid string length (an internal error; run with OPPU_DEBUG=1 for the stack trace)',
    );
  });
});

describe('what a command loads', () => {
  it('oppu score, synth and validate do not load the engine (@oppu/node, tfjs) that run, info and generate import', async () => {
    // tfjs-core puts its engine on the global object when it is imported; nothing in this file imports it.
    expect('_tfengine' in globalThis).toBe(false);
    const sink = { write: () => true };
    const io = { stdout: sink, stderr: sink } as never;
    const out = join(dir, 'loads');
    const synth = [
      'synth',
      '--task',
      'LaMP_3',
      '--users',
      '2',
      '--items',
      '4',
      '--queries',
      '1',
      '--seed',
      '1',
    ];
    expect(await main([...synth, '--out', out, '-q'], io)).toBe(0);
    expect(await main(['validate', '--questions', join(out, 'questions.json')], io)).toBe(0);
    const score = ['score', '--golds', join(out, 'outputs.json'), '--preds', join(out, 'oracle.json')];
    expect(await main(score, io)).toBe(0);
    expect('_tfengine' in globalThis).toBe(false);
    // The overview lists every command, so it loads them all: the engine with them.
    expect(await main(['--help'], io)).toBe(0);
    expect('_tfengine' in globalThis).toBe(true);
  });
});
